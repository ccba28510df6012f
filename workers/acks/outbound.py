"""Send a finished mail: through the SMTP relay, or into a Maildir outbox when no relay is set."""

from __future__ import annotations

import mailbox
import smtplib
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol


class Outbound(Protocol):
    def send(self, message: EmailMessage, recipient: str) -> None: ...


class MaildirOutbox:
    """Acknowledgements as files (`new/`), readable with any MUA or `ls`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        # Only the parent: Maildir(create=True) makes tmp/new/cur only when it creates the folder.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._box = mailbox.Maildir(str(self.path), create=True)

    def send(self, message: EmailMessage, recipient: str) -> None:
        self._box.add(_with_envelope(message, recipient))


def _with_envelope(message: EmailMessage, recipient: str) -> bytes:
    # Return-Path: <> records the empty envelope sender (RFC 3834) as a relay would.
    return b"Return-Path: <>\r\nX-Envelope-To: " + recipient.encode() + b"\r\n" + message.as_bytes()


class SmtpRelay:
    """Deliver with an empty envelope sender, so a bounce of an acknowledgement can never loop."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30,
    ):
        self.host, self.port, self.timeout = host, port, timeout
        self.username, self.password = username, password

    def send(self, message: EmailMessage, recipient: str) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            if self.username and self.password:
                smtp.starttls()
                smtp.login(self.username, self.password)
            smtp.send_message(message, from_addr="", to_addrs=[recipient])
