"""The SMTP edge: cheap checks per command, then the shared intake funnel after DATA."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiosmtpd.smtp import SMTP, Session
from aiosmtpd.smtp import Envelope as SmtpEnvelope

from ingest.analysis import Envelope
from ingest.edges import smtp_replies as replies
from ingest.edges.addresses import AddressBook
from ingest.edges.client_limits import ClientLimits
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

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str, mail_options
    ):
        if not self.limits.message_allowed(client_ip(session)):
            return replies.MESSAGE_RATE
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return replies.MAIL_OK

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: SmtpEnvelope, address: str, rcpt_options
    ):
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
    return str(session.peer[0]) if session and session.peer else ""


class GuichetSMTP(SMTP):
    """aiosmtpd's SMTP with a per-address connection limit, checked before the greeting."""

    _limited_ip = ""

    def __init__(self, handler: SupportHandler, *, max_size: int, **options):
        # RFC 5321 caps lines at 1,000 bytes, but mail with bare LF line ends arrives as one
        # "line": refusing it would lose real mail. The message size limit still bounds memory.
        self.line_length_limit = max(1001, max_size + 2)
        super().__init__(handler, data_size_limit=max_size, **options)

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._limited_ip = client_ip(self.session)
        if not self.event_handler.limits.connect(self._limited_ip):
            transport.write(replies.TOO_MANY_CONNECTIONS.encode() + b"\r\n")
            transport.close()

    def connection_lost(self, error) -> None:
        self.event_handler.limits.disconnect(self._limited_ip)
        super().connection_lost(error)


def smtp_factory(handler: SupportHandler, hostname: str, max_size: int):
    def factory() -> SMTP:
        return GuichetSMTP(
            handler,
            max_size=max_size,
            hostname=hostname,
            enable_SMTPUTF8=True,
            decode_data=False,
        )

    return factory


async def start_smtp(
    handler: SupportHandler, host: str, port: int, *, hostname: str = "guichet", max_size: int
) -> asyncio.AbstractServer:
    """Listen on host:port; the caller owns the returned server (close + wait_closed to stop)."""
    loop = asyncio.get_running_loop()
    return await loop.create_server(smtp_factory(handler, hostname, max_size), host=host, port=port)
