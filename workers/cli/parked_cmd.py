"""`guichet parked`: messages that exhausted their retries, with their reason; replay them."""

from __future__ import annotations

import click

from workers.cli.errors import UserError
from workers.cli.output import print_json


def _sessions():
    from ingest.settings import get_settings
    from workers.store.engine import session_factory
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database)
    return session_factory(settings.database)


@click.group("parked")
def parked_group() -> None:
    """Messages the workers gave up on (retries exhausted). Nothing is dropped: fix the cause, then retry."""


@parked_group.command("list")
@click.option("--all", "include_replayed", is_flag=True, help="Include messages already replayed.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(include_replayed: bool, as_json: bool) -> None:
    """List parked messages with their reason."""
    from workers.parking import parked

    rows = parked(_sessions(), include_replayed)
    if as_json:
        fields = (
            "id",
            "at",
            "actor",
            "queue",
            "args",
            "message_id",
            "reason",
            "status",
            "replayed_at",
        )
        print_json([{f: getattr(r, f) for f in fields} for r in rows])
        return
    if not rows:
        click.echo("nothing parked")
    for r in rows:
        click.echo(
            f"#{r.id}  {r.at:%Y-%m-%d %H:%M:%S}  {r.actor}{tuple(r.args)}  [{r.status}]  {r.reason}"
        )


@parked_group.command("retry")
@click.argument("parked_ids", nargs=-1, type=int, required=True, metavar="ID...")
def retry(parked_ids: tuple[int, ...]) -> None:
    """Enqueue parked messages ID... again (fresh retries). Needs the broker: REDIS_URL, or `guichet run` running."""
    from ingest.settings import get_settings
    from workers.broker import make_broker
    from workers.parking import replay

    settings = get_settings()
    sessions = _sessions()
    if settings.embedded_redis and not settings.redis_socket.exists():
        raise UserError(
            "the embedded Redis is not running: start `guichet run` (or set REDIS_URL), then retry"
        )
    broker = make_broker(settings.broker_url)
    for parked_id in parked_ids:
        try:
            row = replay(sessions, broker, parked_id)
        except LookupError as exc:
            raise UserError(
                f"{exc}; accepted: the id of a parked message, see `guichet parked list --all`"
            ) from None
        click.echo(f"#{row.id} {row.actor}{tuple(row.args)} re-enqueued")
