"""One SMTP connection: aiosmtpd's protocol with our replies, RFC 5321 line caps, XFORWARD and draining."""

from __future__ import annotations

import asyncio
import functools

from aiosmtpd.smtp import MISSING, SMTP, syntax

from ingest import metrics
from ingest.edges import smtp_data, xforward
from ingest.edges import smtp_replies as replies
from ingest.edges.networks import Networks
from ingest.edges.smtp_addresses import plain_address
from ingest.edges.smtp_shutdown import Sessions

# Bytes one command line may occupy in memory while it is read. RFC 5321 §4.5.3.1.4 caps a
# command line at 512 octets, and its extensions (SIZE, SMTPUTF8, BODY) add a few dozen; a
# longer line is read and thrown away in pieces of this size, then refused with 500 5.5.2.
COMMAND_READ_LIMIT = 2048


class GuichetSMTP(SMTP):
    """aiosmtpd's SMTP with our reply texts, a per-address connection limit and a clean shutdown."""

    def __init__(
        self,
        handler,
        *,
        max_size: int,
        sessions: Sessions | None = None,
        trusted_relays: Networks | None = None,
        **options,
    ):
        # DATA caps the message, not its lines: mail with bare LF line ends arrives as one
        # "line", and refusing it would lose real mail (see `smtp_data`). Commands are read with
        # COMMAND_READ_LIMIT (see `connection_made`), so a long one is never held whole.
        super().__init__(handler, data_size_limit=max_size, ident="ESMTP", **options)
        self.sessions = sessions or Sessions()
        self.trusted_relays = trusted_relays or Networks()
        self.trusted, self.busy, self.data_done_at = False, 0, None
        self._counted_ip: str | None = None
        self._greeted = self._verbatim = False
        self.command = "connect"  # the command being answered, for the reply counter
        self._smtp_methods = _Commands(self._smtp_methods, self)

    def _getaddr(self, arg: str):
        """aiosmtpd's address reading, with the plainest form read without the header parser."""
        plain = plain_address(arg)
        if plain is None:
            return super()._getaddr(arg)
        local_part = plain[0].rpartition("@")[0]
        if self.local_part_limit and len(local_part) > self.local_part_limit:
            return None, None
        return plain

    # Connection ---------------------------------------------------------------------------

    def connection_made(self, transport) -> None:
        after_starttls = self._original_transport is not None
        super().connection_made(transport)
        if after_starttls:  # the same connection, now encrypted: counted once already
            return
        self._reader._limit = COMMAND_READ_LIMIT
        ip = str(self.session.peer[0]) if self.session.peer else ""
        self.trusted = ip in self.trusted_relays
        self.sessions.add(self)
        if self.sessions.shutting_down:
            self.close_with(replies.SHUTTING_DOWN)
        elif not self.trusted:  # a relay in front carries many clients: never capped per address
            self._counted_ip = ip
            if not self.event_handler.limits.connect(ip):
                self.close_with(replies.TOO_MANY_CONNECTIONS)

    def connection_lost(self, error) -> None:
        self.sessions.discard(self)
        if self._counted_ip is not None:
            self.event_handler.limits.disconnect(self._counted_ip)
            self._counted_ip = None
        super().connection_lost(error)

    def close_with(self, reply: str) -> None:
        """Say why, then hang up: for a session that is waiting for its next command."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(reply.encode() + b"\r\n")
            metrics.smtp_reply(reply, "connect")
            self.transport.close()

    # Replies ------------------------------------------------------------------------------

    async def push(self, status) -> None:
        if isinstance(status, str) and not self._as_worded(status):
            status = replies.enhanced(status)
        metrics.smtp_reply(status, self.command)
        await super().push(status)

    def _as_worded(self, status: str) -> bool:
        """The greeting, the EHLO/HELO lines and 354 carry no enhanced code (RFC 2034 §3)."""
        greeting, self._greeted = not self._greeted, True
        return (
            (greeting and status.startswith("220 "))
            or (self._verbatim and status.startswith("250"))
            or status.startswith("354 ")
        )

    def ehlo_keywords(self, responses: list[str]) -> list[str]:
        """EHLO as sent: never AUTH (we take no logins), XFORWARD only to a trusted relay."""
        lines = [r for r in responses if not r.startswith(("250-AUTH", "250 AUTH"))]
        extra = ["250-ENHANCEDSTATUSCODES"] + (["250-" + xforward.KEYWORD] if self.trusted else [])
        return lines[:-1] + extra + lines[-1:]

    # Commands -----------------------------------------------------------------------------

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        await self._worded(super().smtp_EHLO, hostname)

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        await self._worded(super().smtp_HELO, hostname)

    async def _worded(self, command, arg) -> None:
        self._verbatim = True
        try:
            await command(arg)
        finally:
            self._verbatim = False

    async def smtp_AUTH(self, arg: str) -> None:  # no @syntax: HELP does not list it
        await self.push(replies.AUTH_NOT_ENABLED)

    async def smtp_XFORWARD(self, arg: str | None) -> None:
        if not self.trusted:
            await self.push(replies.XFORWARD_REFUSED)
        elif self.envelope.mail_from:
            await self.push(replies.XFORWARD_IN_TRANSACTION)
        else:
            try:
                self.session.xforward = self.forwarded | xforward.parse(arg)
            except xforward.XforwardSyntax:
                await self.push(replies.XFORWARD_SYNTAX)
                return
            await self.push(replies.XFORWARD_OK)

    @property
    def forwarded(self) -> dict[str, str]:
        return getattr(self.session, "xforward", None) or {}

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        # aiosmtpd's own DATA, with the message read by `smtp_data` (in pieces, one buffer)
        # instead of line by line; the replies and the handler's call are aiosmtpd's.
        try:
            await self._data(arg)
        finally:
            self.data_done_at = self.loop.time()

    async def _data(self, arg: str) -> None:
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        self._reader._limit = smtp_data.PIECE
        try:
            raw = await smtp_data.read_message(self._reader, self.data_size_limit)
        except asyncio.IncompleteReadError:  # the client left mid-message: nothing to answer
            if self.transport is not None:
                self.transport.close()
            return
        finally:
            self._reader._limit = COMMAND_READ_LIMIT
        if raw is None:
            await self.push("552 Error: Too much mail data")
            self._set_post_data_state()
            return
        self.envelope.content = self.envelope.original_content = raw
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    def _set_post_data_state(self) -> None:
        # The end of a transaction (DATA done, RSET, EHLO): XFORWARD attributes apply to one.
        super()._set_post_data_state()
        if self.session is not None:
            self.session.xforward = {}

    async def refuse_shutting_down(self, arg: str | None = None) -> None:
        await self.push(replies.SHUTTING_DOWN)
        self.transport.close()


class _Commands(dict):
    """The command table: counts the commands in progress, and refuses new ones while draining."""

    def __init__(self, methods: dict, session: GuichetSMTP):
        super().__init__(methods)
        self.session = session

    def get(self, command, default=None):
        method = super().get(command, default)
        if method is None:
            return None
        if self.session.sessions.shutting_down and command != "QUIT":
            return self.session.refuse_shutting_down
        return _counted(method, self.session, command)


def _counted(method, session: GuichetSMTP, command: str):
    @functools.wraps(method)
    async def run(arg):
        session.busy, session.command = session.busy + 1, command
        try:
            await method(arg)
        finally:
            session.busy, session.command = session.busy - 1, "other"

    return run
