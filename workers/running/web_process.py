"""`guichet web`: the webhook app wired to the store and the broker, served by uvicorn."""

from __future__ import annotations

import asyncio
import logging
from contextlib import asynccontextmanager
from datetime import timedelta

import redis
import uvicorn
from sqlalchemy import select, text
from starlette.applications import Starlette

from ingest.edges.addresses import AddressBook
from ingest.edges.webhook.app import create_app
from ingest.edges.webhook.limits import WebhookSettings
from ingest.edges.webhook.ports import Services
from ingest.settings import Settings, host_port
from workers.admin.app import mount as admin_mount
from workers.queue_metrics import QueueCollector
from workers.running.edges import build_intake, build_parser
from workers.running.exposition import metrics_route
from workers.store.engine import engine_for, session_factory
from workers.store.idempotency import SqlIdempotency
from workers.store.partners import SqlPartners, secret_box
from workers.store.schema import AckRow, IntakeRow, TicketRow

log = logging.getLogger("guichet.web")
QUEUED = {"received": "queued", "ticketed": "ticketed", "duplicate": "duplicate"}
INCOMPLETE = "identification incomplete: a client number and a contact declared on it are required"


class SqlStatuses:
    """`ingest.edges.webhook.ports.Statuses`: one intake of one partner, with its ticket and acknowledgement."""

    def __init__(self, sessions):
        self.sessions = sessions

    def status(self, partner: str, intake_id: str) -> dict | None:
        with self.sessions() as session:
            intake = session.scalar(
                select(IntakeRow).where(IntakeRow.id == intake_id, IntakeRow.partner == partner)
            )
            if intake is None:
                return None
            found = {"intake_id": intake.id, "status": QUEUED.get(intake.status, "refused")}
            if found["status"] == "refused":
                found["reason"] = (
                    f"intake {intake.status}"  # the state only: errors may hold internals
                )
            ticket = session.get(TicketRow, intake.ticket_id) if intake.ticket_id else None
            return found | (_ticket_fields(session, ticket, intake.id) if ticket else {})


def _ticket_fields(session, ticket: TicketRow, intake_id: str) -> dict:
    ack = session.scalar(select(AckRow).where(AckRow.intake_id == intake_id))
    fields = {
        "ticket_number": ticket.number,
        "authorised": ticket.authorised,
        "acknowledgement": ack.status if ack else None,
    }
    if not ticket.authorised:
        fields["reason"] = INCOMPLETE  # the same words whatever is missing: no account enumeration
    return fields


def probes(settings: Settings, timeout: float) -> dict:
    """`SELECT 1` and a Redis PING, each bounded by its own socket timeout and the app's."""
    engine = engine_for(settings.database)
    client = redis.Redis.from_url(
        settings.broker_url, socket_timeout=timeout, socket_connect_timeout=timeout
    )

    def database() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))

    return {
        "database": lambda: asyncio.to_thread(database),
        "broker": lambda: asyncio.to_thread(client.ping),
    }


def web_app(settings: Settings, webhooks: WebhookSettings | None = None) -> Starlette:
    """The app with its store, broker and parser pool; the pool stops with the app."""
    webhooks = webhooks or WebhookSettings()
    sessions = session_factory(settings.database)
    parser = build_parser(settings)
    services = Services(
        intake=build_intake(settings),
        analyse_content=parser.analyse_content,
        analyse_mail=parser.analyse,
        partners=SqlPartners(sessions, secret_box(settings.home)),
        idempotency=SqlIdempotency(sessions, timedelta(seconds=webhooks.in_progress_grace)),
        statuses=SqlStatuses(sessions),
        addresses=AddressBook(settings.support_addresses, settings.urgent_addresses),
        probes=probes(settings, webhooks.probe_timeout),
    )

    @asynccontextmanager
    async def lifespan(app):
        yield
        parser.close()

    return with_console(settings, create_app(services, webhooks, lifespan=lifespan))


def with_console(settings: Settings, edge: Starlette) -> Starlette:
    """The webhook app with /admin (the console) mounted after its own routes: a webhook
    request is routed exactly as before, and pays nothing for the console. An app-level
    route such as /metrics is added the same way."""
    edge.router.routes.append(
        metrics_route(
            settings, QueueCollector(settings.broker_url, session_factory(settings.database))
        )
    )
    edge.router.routes.append(admin_mount(settings))
    return edge


def server(settings: Settings, app: Starlette) -> uvicorn.Server:
    host, port = host_port(settings.http_listen)
    # log_config=None: our own logging set-up (json lines) stays in charge. HTTP is parsed by
    # httptools (C) rather than h11 (pure Python); the loop is uvloop wherever it installs.
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        http="httptools",
        loop="auto",
    )
    return uvicorn.Server(config)


def serve_web(settings: Settings) -> None:
    """Serve until SIGTERM/SIGINT (uvicorn stops accepting, finishes requests in flight, exits)."""
    log.info("HTTP app starting", extra={"listen": settings.http_listen})
    server(settings, web_app(settings)).run()
