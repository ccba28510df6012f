"""`guichet`: run the stack or one role, manage the directory, inspect tickets, explain a decision."""

from __future__ import annotations

import os
import sys

import click

# Command modules import only click at load time: `guichet --help` stays fast, and each
# command imports what it needs (SQLAlchemy, Dramatiq, flanker…) when it runs.
from workers.cli.admins_cmd import admins
from workers.cli.config_cmd import config
from workers.cli.directory_cmd import directory
from workers.cli.errors import GuichetGroup, UserError
from workers.cli.explain_cmd import eval_corpus, explain
from workers.cli.fetch_cmd import fetch
from workers.cli.health_cmd import health
from workers.cli.outbox_cmd import outbox
from workers.cli.parked_cmd import parked_group
from workers.cli.partners_cmd import partners
from workers.cli.replay_cmd import replay
from workers.cli.templates_cmd import templates
from workers.cli.tickets_cmd import tickets


def get_settings():
    from ingest.settings import get_settings as settings

    return settings()


def _logs(role: str, settings) -> None:
    from workers.running import logs

    logs.setup(settings.log_format, role=role)


@click.group(
    cls=GuichetGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(package_name="guichet")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "text", "json"]),
    default=None,
    help="Log lines: text (coloured on a terminal), json, or auto (text on a terminal, json "
    "otherwise). Default: the log_format setting (GUICHET_LOG_FORMAT).",
)
def cli(log_format: str | None) -> None:
    """guichet — intake for technical support: SMTP and webhooks in, tickets and acknowledgements out.

    Settings come from the environment (GUICHET_HOME, DATABASE_URL, REDIS_URL, …) and
    config/settings.toml; with none set, everything lives under ./var.
    """
    if log_format:  # an environment variable: the roles `guichet run` starts inherit it
        os.environ["GUICHET_LOG_FORMAT"] = log_format


@cli.command()
@click.option("--no-web", is_flag=True, help="Do not start the HTTP app.")
def run(no_web: bool) -> None:
    """Run the whole stack on this machine: embedded Redis (unless REDIS_URL is set), workers,
    SMTP listener and HTTP app. Ctrl-C or SIGTERM stops accepting, drains, stops Redis, exits 0."""
    from workers.running.home_lock import AlreadyRunning
    from workers.running.supervisor import run as run_stack

    settings = get_settings()
    _logs("run", settings)
    try:
        sys.exit(run_stack(settings, web=not no_web))
    except AlreadyRunning as exc:
        raise UserError(str(exc)) from None


def metrics_port(command):
    return click.option(
        "--metrics-port",
        type=click.IntRange(1, 65535),
        default=None,
        help="Serve Prometheus metrics on 127.0.0.1:PORT (default: the metrics_listen setting).",
    )(command)


def _metrics(settings, port: int | None, *, queues: bool = False) -> None:
    """A role run alone serves its own metrics (docs/metrics.md); `guichet run` does not ask."""
    from workers.running.exposition import serve_alone

    extra = []
    if queues:
        from workers.queue_metrics import QueueCollector

        extra.append(QueueCollector(settings.broker_url))
    server = serve_alone(settings, port, *extra)
    if server is not None:
        import logging

        host, port = server.server_address[:2]
        logging.getLogger("guichet.metrics").info(
            "metrics served", extra={"listen": f"{host}:{port}"}
        )


@cli.command()
@metrics_port
def smtp(metrics_port: int | None) -> None:
    """Run the SMTP listener only (production: one or more per host, behind the MX)."""
    import asyncio

    from workers.running.edges import serve_smtp

    settings = get_settings()
    _logs("smtp", settings)
    _require_broker(settings)
    _metrics(settings, metrics_port)
    asyncio.run(serve_smtp(settings))


@cli.command()
@click.option(
    "--threads", type=int, default=None, help="Worker threads (default: worker_threads setting)."
)
@click.option(
    "--queue",
    "queues",
    multiple=True,
    help="Consume only these queues (repeatable), e.g. tickets.urgent.",
)
@metrics_port
def worker(threads: int | None, queues: tuple[str, ...], metrics_port: int | None) -> None:
    """Run Dramatiq workers: ticket creation, acknowledgements, on-call pages, and the sweeper."""
    from workers.running.worker_process import run_worker

    settings = get_settings()
    _logs("worker", settings)
    _require_broker(settings)
    _metrics(settings, metrics_port, queues=True)
    sys.exit(
        run_worker(settings, threads=threads or settings.worker_threads, queues=set(queues) or None)
    )


@cli.command()
def web() -> None:
    """Run the HTTP app (webhooks, health checks) on GUICHET_HTTP_LISTEN."""
    try:
        from workers.running.web_process import serve_web
    except ImportError:
        raise click.ClickException("the HTTP app is not part of this build yet") from None
    settings = get_settings()
    _logs("web", settings)
    _require_broker(settings)
    serve_web(settings)


@cli.group()
def db() -> None:
    """Database schema: apply the Alembic migrations that ship with this version."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (run once per release in production)."""
    from workers.store.migrate import upgrade

    settings = get_settings()
    _logs("db", settings)
    upgrade(settings.database)
    click.echo(f"schema is current: {_safe_url(settings.database)}")


def _require_broker(settings) -> None:
    if settings.embedded_redis and not settings.redis_socket.exists():
        raise UserError(
            "no REDIS_URL and no embedded Redis running: use `guichet run` for the embedded default, "
            "or set REDIS_URL=redis://host:6379/0"
        )


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


cli.add_command(directory)
cli.add_command(explain)
cli.add_command(eval_corpus)
cli.add_command(tickets)
cli.add_command(templates)
cli.add_command(partners)
cli.add_command(parked_group)
cli.add_command(outbox)
cli.add_command(admins)
cli.add_command(fetch)
cli.add_command(replay)
cli.add_command(config)
cli.add_command(health)

if __name__ == "__main__":
    cli()
