"""Send a finished mail: through the SMTP relay, or into a Maildir outbox when no relay is set."""

from __future__ import annotations

import os
import re
import smtplib
import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Protocol

from ingest.settings import Settings, host_port
from workers.acks.mail import wire_bytes
from workers.store.private_files import private_dir

# Called once the whole message is with the relay (or in the outbox's tmp/) and only its last
# step remains: the end of DATA (the final dot), or the rename into new/. What it records is
# durable before the message can be taken; if it raises, the message is not handed over.
# That step is a single write to a socket or a rename: a process killed around it leaves either
# the record without the message (at most once) or neither, never a message taken and not
# recorded, which the sweeper would send again (see workers.acknowledge.deliver).
LastStep = Callable[[], None]


class Outbound(Protocol):
    def send(self, message: Message, recipient: str, before_last_step: LastStep | None = None):
        """Hand the message over; `RelayRefused` when refused for good, any other error is temporary."""
        ...


class RelayRefused(Exception):
    """The relay refused this message permanently (a 5xx to MAIL, RCPT or DATA): never retry it."""

    def __init__(self, code: int, reply: str, stage: str):
        super().__init__(f"{code} {reply} (after {stage})")
        self.code, self.reply, self.stage = code, reply, stage


class RelayUnavailable(Exception):
    """The message could not be handed over this time (4xx, connection, TLS or login trouble)."""


class MaildirOutbox:
    """Acknowledgements as files (`new/`), readable with any MUA or `ls`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        for folder in ("tmp", "new", "cur"):  # owner-only (workers/store/private_files.py)
            private_dir(self.path / folder)
        # Unique names as the Maildir convention has them (time, pid, a random part, host;
        # "/" and ":" of the host name escaped), without mailbox.Maildir's shared index,
        # which once failed a send under several threads ("No message with key").
        host = socket.gethostname().replace("/", r"\057").replace(":", r"\072")
        self._suffix = f"P{os.getpid()}.{host}"

    def send(self, message: Message, recipient: str, before_last_step: LastStep | None = None):
        """Written in tmp/ (owner-only), then renamed into new/, where readers look."""
        name = f"{int(time.time())}.R{uuid.uuid4().hex}{self._suffix}"
        written = self.path / "tmp" / name
        descriptor = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with open(descriptor, "wb") as out:
                out.write(_with_envelope(message, recipient))
            if before_last_step is not None:
                before_last_step()
            os.rename(written, self.path / "new" / name)
        except BaseException:
            written.unlink(missing_ok=True)
            raise


def _with_envelope(message: Message, recipient: str) -> bytes:
    # Return-Path: <> records the empty envelope sender (RFC 3834) as a relay would.
    return b"Return-Path: <>\nX-Envelope-To: " + recipient.encode() + b"\n" + wire_bytes(message)


@dataclass(frozen=True)
class RelayTls:
    """`opportunistic`: STARTTLS when offered, certificate unchecked (Postfix's "may");
    `starttls`: required and checked; `implicit`: TLS from the first byte (port 465), checked;
    `none`: plain text. `verify=False` turns the checks off; `ca_file` trusts a private CA."""

    mode: str = "opportunistic"
    verify: bool = True
    ca_file: Path | None = None

    def context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)
        if self.mode == "opportunistic" or not self.verify:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return context


class SmtpRelay:
    """Deliver with an empty envelope sender, so a bounce of an acknowledgement can never loop."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        tls: RelayTls | None = None,
        timeout: float = 30,
    ):
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self.password = username, password
        self.tls = tls or RelayTls()

    def send(self, message: Message, recipient: str, before_last_step: LastStep | None = None):
        try:
            with self._session() as smtp:
                _hand_over(smtp, message, recipient, before_last_step)
        except (RelayRefused, RelayUnavailable):
            raise
        except (OSError, smtplib.SMTPException) as error:
            raise RelayUnavailable(f"{type(error).__name__}: {error}") from error

    def _session(self) -> smtplib.SMTP:
        """Connected, encrypted as configured, logged in when a username is set."""
        if self.tls.mode == "implicit":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self.tls.context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            self._starttls(smtp)
            self._login(smtp)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _starttls(self, smtp: smtplib.SMTP) -> None:
        if self.tls.mode in ("implicit", "none"):
            return
        if not smtp.has_extn("starttls"):
            if self.tls.mode == "starttls":
                raise RelayUnavailable(
                    "the relay does not offer STARTTLS (smtp_relay_tls=starttls)"
                )
            return
        smtp.starttls(context=self.tls.context())
        smtp.ehlo()

    def _login(self, smtp: smtplib.SMTP) -> None:
        if not self.username:
            return
        if self.tls.mode != "none" and not isinstance(smtp.sock, ssl.SSLSocket):
            raise RelayUnavailable("refusing to send the relay password over a plain connection")
        smtp.login(self.username, self.password or "")


def _hand_over(smtp: smtplib.SMTP, message: Message, recipient: str, last_step) -> None:
    """MAIL FROM:<>, RCPT, DATA; a 5xx to any of them is permanent, anything else temporary.

    smtplib's `sendmail` sends the message and its final dot in one write; here the dot waits
    for `last_step`. A session closed before the dot is a transaction the relay drops."""
    data, options = _flattened(smtp, message, recipient)
    if smtp.has_extn("size"):
        options.append(f"SIZE={len(data)}")
    code, reply = smtp.mail("", options)
    if code != 250:
        raise _refusal(code, reply, "MAIL FROM")
    code, reply = smtp.rcpt(recipient)
    if code not in (250, 251):
        raise _refusal(code, reply, "RCPT TO")
    code, reply = smtp.docmd("DATA")
    if code != 354:
        raise _refusal(code, reply, "DATA")
    try:
        smtp.send(data)
        if last_step is not None:
            last_step()
    except BaseException:
        smtp.close()  # no dot, no QUIT inside the message: the relay drops the transaction
        raise
    smtp.send(b".\r\n")
    code, reply = smtp.getreply()
    if code != 250:
        raise _refusal(code, reply, "the end of DATA")


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def _flattened(smtp: smtplib.SMTP, message: Message, recipient: str) -> tuple[bytes, list[str]]:
    """The message as DATA carries it (CRLF lines, leading dots doubled, ending in CRLF) and
    the MAIL options it needs: SMTPUTF8 for an address beyond ASCII, as `send_message` does."""
    smtp.ehlo_or_helo_if_needed()
    utf8, options = not recipient.isascii(), []
    if utf8:
        if not smtp.has_extn("smtputf8"):
            raise smtplib.SMTPNotSupportedError("the relay does not offer SMTPUTF8")
        options += ["SMTPUTF8", "BODY=8BITMIME"]
    data = _LEADING_DOT.sub(b"..", wire_bytes(message, "\r\n", utf8))  # CRLF throughout
    return data if data.endswith(b"\r\n") else data + b"\r\n", options


def _refusal(code: int, reply: bytes | str, stage: str) -> Exception:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    if 500 <= code < 600:
        return RelayRefused(code, text, stage)
    return RelayUnavailable(f"{code} {text} (after {stage})")


def outbound_for(settings: Settings) -> Outbound:
    """The relay when one is set, else the Maildir outbox under the state folder."""
    if not settings.smtp_relay:
        return MaildirOutbox(settings.outbox)
    host, port = host_port(settings.smtp_relay)
    password = settings.smtp_relay_password
    return SmtpRelay(
        host,
        port,
        username=settings.smtp_relay_username,
        password=password.get_secret_value() if password else None,
        tls=RelayTls(
            settings.smtp_relay_tls, settings.smtp_relay_tls_verify, settings.smtp_relay_ca_file
        ),
    )
