"""The SMTP edge: cheap checks per command, then the shared intake funnel after DATA."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from ingest.analysis import Envelope
from ingest.edges import smtp_replies as replies
from ingest.edges import xforward
from ingest.edges.addresses import AddressBook
from ingest.edges.client_limits import ClientLimits
from ingest.edges.networks import Networks
from ingest.edges.smtp_session import GuichetSMTP
from ingest.edges.smtp_shutdown import Sessions
from ingest.intake import Accepted, Intake
from ingest.parser_pool import ParserPool

log = logging.getLogger("guichet.smtp")
UNLIMITED = ClientLimits(10**9, "1000000000/second")


class SupportHandler:
    """aiosmtpd hooks: refuse what is not ours, accept the rest only once it is durable."""

    def __init__(
        self,
        intake: Intake,
        parser: ParserPool,
        addresses: AddressBook,
        max_recipients: int = 20,
        limits: ClientLimits = UNLIMITED,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.intake, self.parser, self.addresses = intake, parser, addresses
        self.max_recipients, self.limits, self.clock = max_recipients, limits, clock

    async def handle_EHLO(
        self, server: GuichetSMTP, session: Session, envelope, hostname: str, responses
    ):
        session.host_name = hostname
        return server.ehlo_keywords(responses)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str, mail_options
    ):
        if not address.isascii() and "SMTPUTF8" not in mail_options:
            return replies.NON_ASCII_ADDRESS
        if not self.limits.message_allowed(client_ip(session)):
            return replies.MESSAGE_RATE
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return replies.MAIL_OK

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str, rcpt_options
    ):
        if not address.isascii() and not envelope.smtp_utf8:
            return replies.NON_ASCII_ADDRESS
        if len(envelope.rcpt_tos) >= self.max_recipients:
            return replies.TOO_MANY_RECIPIENTS
        if not self.addresses.accepts(address):
            return replies.UNKNOWN_RECIPIENT.format(address=address)
        envelope.rcpt_tos.append(address)
        return replies.RCPT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: SmtpEnvelope) -> str:
        try:
            return await self._accept(session, envelope)
        except Exception:
            log.exception("unexpected failure while accepting a message")
            return replies.LOCAL_ERROR

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd's default is "500 Error: <exception>", which makes senders give up.
        log.error("SMTP session error: %r", error)
        return replies.LOCAL_ERROR

    async def _accept(self, session: Session, smtp_envelope: SmtpEnvelope) -> str:
        raw = bytes(smtp_envelope.original_content or b"")
        envelope = Envelope(
            channel="smtp",
            sender=(smtp_envelope.mail_from or "").strip("<>"),
            recipients=[r.lower() for r in smtp_envelope.rcpt_tos],
            received_at=self.clock(),
            client_ip=client_ip(session),
        )
        outcome = await self.intake.accept(
            raw, envelope, lambda: self.parser.analyse(raw, envelope)
        )
        if isinstance(outcome, Accepted):
            return replies.QUEUED.format(intake_id=outcome.intake_id)
        return replies.NOT_DURABLE if outcome.stage == "journal" else replies.NOT_QUEUED


def client_ip(session: Session | None) -> str:
    """The client's address: forwarded by a trusted relay (XFORWARD ADDR), else the peer's."""
    forwarded = xforward.client_address(getattr(session, "xforward", None) or {})
    return forwarded or (str(session.peer[0]) if session and session.peer else "")


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """What STARTTLS offers: our certificate; clients are not asked for one."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def smtp_factory(
    handler: SupportHandler,
    hostname: str,
    max_size: int,
    *,
    tls: ssl.SSLContext | None = None,
    trusted_relays: Networks | None = None,
    sessions: Sessions | None = None,
):
    sessions = sessions or Sessions()

    def factory() -> SMTP:
        return GuichetSMTP(
            handler,
            max_size=max_size,
            sessions=sessions,
            trusted_relays=trusted_relays,
            hostname=hostname,
            tls_context=tls,
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    return factory


async def start_smtp(
    handler: SupportHandler,
    host: str,
    port: int,
    *,
    hostname: str = "guichet",
    max_size: int,
    **options,
) -> asyncio.AbstractServer:
    """Listen on host:port; the caller owns the returned server (close + wait_closed to stop).

    `options`: `tls` (STARTTLS context), `trusted_relays` (XFORWARD), `sessions` (to drain)."""
    loop = asyncio.get_running_loop()
    factory = smtp_factory(handler, hostname, max_size, **options)
    return await loop.create_server(factory, host=host, port=port)
