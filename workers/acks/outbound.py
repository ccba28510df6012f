"""Send a finished mail: through the SMTP relay, or into a Maildir outbox when no relay is set."""

from __future__ import annotations

import mailbox
import os
import smtplib
import ssl
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from typing import Protocol

from ingest.settings import Settings, host_port
from workers.store.private_files import private_dir


class Outbound(Protocol):
    def send(self, message: Message, recipient: str) -> None:
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
        # Only the parent: Maildir(create=True) makes tmp/new/cur only when it creates the folder
        # (0700 each). The parent too is created owner-only (workers/store/private_files.py).
        private_dir(self.path.parent)
        self._box = mailbox.Maildir(str(self.path), create=True)

    def send(self, message: Message, recipient: str) -> None:
        key = self._box.add(_with_envelope(message, recipient))
        # Maildir.add puts bytes in new/ under their key. Not `_lookup(key)`: it re-lists the
        # folder (cost growing with the outbox) and, with several threads sharing the index,
        # once failed an acknowledgement with "No message with key" (sent again ~40 s later).
        os.chmod(self.path / "new" / key, 0o600)  # owner-only, whatever the umask


def _with_envelope(message: Message, recipient: str) -> bytes:
    # Return-Path: <> records the empty envelope sender (RFC 3834) as a relay would.
    return b"Return-Path: <>\r\nX-Envelope-To: " + recipient.encode() + b"\r\n" + message.as_bytes()


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

    def send(self, message: Message, recipient: str) -> None:
        try:
            with self._session() as smtp:
                _hand_over(smtp, message, recipient)
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


def _hand_over(smtp: smtplib.SMTP, message: Message, recipient: str) -> None:
    """MAIL FROM:<>, RCPT, DATA; a 5xx to any of them is permanent, anything else temporary."""
    try:
        smtp.send_message(message, from_addr="", to_addrs=[recipient])
    except smtplib.SMTPRecipientsRefused as error:
        code, reply = next(iter(error.recipients.values()))
        raise _refusal(code, reply, "RCPT TO") from error
    except smtplib.SMTPSenderRefused as error:
        raise _refusal(error.smtp_code, error.smtp_error, "MAIL FROM") from error
    except smtplib.SMTPDataError as error:
        raise _refusal(error.smtp_code, error.smtp_error, "DATA") from error


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
