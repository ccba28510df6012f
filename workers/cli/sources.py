"""Wiring shared by `guichet fetch` and `guichet replay`: the funnel over the store, parser processes, the ledger."""

from __future__ import annotations

from collections.abc import Callable

from ingest.analysis import Analysis
from ingest.edges.addresses import AddressBook
from ingest.edges.stored_mail import StoredMailIntake
from ingest.parser_pool import ParserPool
from ingest.settings import Settings
from workers.running.edges import build_intake, build_parser
from workers.store.engine import session_factory
from workers.store.mail_sources import SqlLedger


def address_book(settings: Settings) -> AddressBook:
    return AddressBook(settings.support_addresses, settings.urgent_addresses)


def stored_intake(
    settings: Settings,
    adjust: Callable[[Analysis], None] | None = None,
    processes: int | None = None,
) -> tuple[StoredMailIntake, ParserPool]:
    """The funnel for stored mail; the caller closes the returned parser pool.

    Stored mail is taken one message at a time per source, so `processes` parser processes at
    most (default: one), never more than the `parse_processes` setting (0: in a thread)."""
    wanted = 1 if processes is None else processes
    parser = build_parser(settings, min(wanted, settings.parse_processes))
    ledger = SqlLedger(session_factory(settings.database))
    return StoredMailIntake(build_intake(settings), parser, ledger, adjust), parser


def require_queue(settings: Settings) -> None:
    """Fail early (exit 2), with what to do, when the Redis the funnel enqueues on is not there."""
    import click
    import redis

    class QueueMissing(click.ClickException):
        exit_code = 2

    try:
        redis.Redis.from_url(settings.broker_url, socket_connect_timeout=2, socket_timeout=2).ping()
    except (redis.RedisError, OSError) as exc:
        hint = (
            "start `guichet run` in this folder first (embedded Redis), or set REDIS_URL"
            if settings.embedded_redis
            else "check REDIS_URL and that Redis is running"
        )
        reason = str(exc).rstrip(".")
        raise QueueMissing(
            f"cannot reach Redis at {settings.broker_url} ({reason}): {hint}"
        ) from None
