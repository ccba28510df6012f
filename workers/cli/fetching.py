"""What `guichet fetch` runs: the IMAP edge wired to the store and the queue."""

from __future__ import annotations

import asyncio
import logging

import click

from ingest.edges.imap_fetch import Surroundings, fetch_all
from ingest.settings import Settings, get_settings
from workers.cli.sources import address_book, require_queue, stored_intake
from workers.running import logs
from workers.running.edges import _signal_event  # the SMTP edge's SIGTERM/SIGINT wiring
from workers.store.engine import session_factory
from workers.store.mail_sources import SqlFetchProgress
from workers.store.migrate import upgrade

log = logging.getLogger("guichet.fetch")

NO_MAILBOX = """no mailbox configured: add a [[mailboxes]] table to config/settings.toml, e.g.

  [[mailboxes]]
  name = "support"
  host = "imap.example.net"
  username = "support@example.net"
  password_file = "/run/secrets/imap-support"

or set GUICHET_MAILBOXES to a JSON list of such objects (docs/operations.md lists every key)"""


async def serve_fetch(settings: Settings, stopping: asyncio.Event | None = None) -> None:
    """Fetch every configured mailbox until SIGTERM/SIGINT (or `stopping`)."""
    stopping = stopping or _signal_event()
    stored, parser = stored_intake(settings, processes=len(settings.mailboxes))
    around = Surroundings(
        stored,
        SqlFetchProgress(session_factory(settings.database)),
        address_book(settings),
        settings.support_addresses[0],
        settings.max_message_size,
    )
    log.info("fetching", extra={"mailboxes": [m.name for m in settings.mailboxes]})
    try:
        await fetch_all(settings.mailboxes, around, stopping)
    finally:
        parser.close()
    log.info("fetch stopped")


def run() -> None:
    """`guichet fetch`: every configured mailbox until stopped."""
    settings = get_settings()
    if not settings.mailboxes:
        raise click.UsageError(NO_MAILBOX)
    logs.setup(settings.log_format, role="fetch")
    require_queue(settings)
    upgrade(settings.database)
    asyncio.run(serve_fetch(settings))
