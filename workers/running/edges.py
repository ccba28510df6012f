"""Wire the edges (SMTP listener, webhook app) to the store and the broker, and run them until stopped."""

from __future__ import annotations

import asyncio
import functools
import logging
import signal

from ingest.edges.addresses import AddressBook
from ingest.edges.client_limits import ClientLimits
from ingest.edges.networks import Networks
from ingest.edges.smtp import SupportHandler, start_smtp, tls_context
from ingest.edges.smtp_shutdown import Sessions
from ingest.intake import Intake
from ingest.parser_pool import ParserPool
from ingest.queueing import redis_broker
from ingest.settings import Settings, host_port
from workers.running.runtime import rules_for, sql_directory
from workers.store.engine import session_factory
from workers.store.journal import SqlJournal

log = logging.getLogger("guichet.edge")


def build_intake(settings: Settings) -> Intake:
    return Intake(SqlJournal(session_factory(settings.database)), redis_broker(settings.broker_url))


def build_parser(settings: Settings, processes: int | None = None) -> ParserPool:
    count = settings.parse_processes if processes is None else processes
    pool = ParserPool(
        functools.partial(sql_directory, settings.database),
        rules_for(settings),
        count,
        reserved=settings.parse_reserved_processes,
        exempt_sources=settings.limits_exempt,
    )
    pool.start()
    return pool


def smtp_handler(
    settings: Settings, intake: Intake, parser: ParserPool, **options
) -> SupportHandler:
    addresses = AddressBook(settings.support_addresses, settings.urgent_addresses)
    limits = ClientLimits(
        settings.max_connections_per_ip, settings.message_rate_per_ip, settings.limits_exempt
    )
    return SupportHandler(intake, parser, addresses, settings.max_recipients, limits, **options)


async def serve_smtp(settings: Settings, stopping: asyncio.Event | None = None, **options) -> None:
    """Listen until SIGTERM/SIGINT (or `stopping`); then stop accepting, answer new commands
    `421 4.3.2`, give the DATA in hand up to `smtp_drain_timeout` seconds, and return."""
    stopping = stopping or _signal_event()
    parser = build_parser(settings)
    handler = smtp_handler(settings, build_intake(settings), parser, **options)
    sessions = Sessions()
    server = await start_smtp(
        handler, *host_port(settings.smtp_listen), **_smtp_options(settings, sessions)
    )
    log.info("SMTP listener ready", extra={"listen": settings.smtp_listen})
    await stopping.wait()
    server.close()
    log.info("SMTP listener draining", extra={"sessions": len(sessions.open)})
    await sessions.drain(settings.smtp_drain_timeout)
    await server.wait_closed()
    parser.close()
    log.info("SMTP listener stopped")


def _smtp_options(settings: Settings, sessions: Sessions) -> dict:
    tls = None
    if settings.smtp_tls_cert and settings.smtp_tls_key:
        tls = tls_context(settings.smtp_tls_cert, settings.smtp_tls_key)
    return dict(
        hostname=settings.smtp_hostname,
        max_size=settings.max_message_size,
        tls=tls,
        trusted_relays=Networks(settings.smtp_trusted_relays),
        sessions=sessions,
    )


def _signal_event() -> asyncio.Event:
    event, loop = asyncio.Event(), asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, event.set)
    return event
