"""The embedded Maildir outbox read back: acknowledgements in the order they were written, decoded."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

SHOWN_HEADERS = (
    "Date", "From", "To", "Subject", "Message-ID", "In-Reply-To", "References",
    "Auto-Submitted", "Content-Language", "X-Envelope-To",
)  # fmt: skip


@dataclass(frozen=True)
class OutboxMail:
    number: int  # 1 = the first acknowledgement written
    path: Path
    message: EmailMessage

    def header(self, name: str) -> str:
        return str(self.message.get(name, "") or "")

    def part(self, subtype: str) -> str | None:
        """The decoded text of the `plain` or `html` part (quoted-printable and charsets undone)."""
        body = self.message.get_body((subtype,))
        return body.get_content() if body is not None else None

    def summary(self) -> dict:
        return {"number": self.number, "file": self.path.name} | {
            name.lower(): self.header(name) for name in ("Date", "To", "Subject")
        }


def mail_files(outbox: Path) -> list[Path]:
    """Files of `new/` and `cur/`, oldest first (the order they were written)."""
    files = [p for sub in ("new", "cur") for p in (Path(outbox) / sub).glob("*") if p.is_file()]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def read_outbox(outbox: Path, *, headers_only: bool = True) -> list[OutboxMail]:
    """Every mail of the outbox; only their headers unless `headers_only` is False."""
    return [
        OutboxMail(n, path, _parse(path, headers_only))
        for n, path in enumerate(mail_files(outbox), start=1)
    ]


def read_one(outbox: Path, number: int) -> OutboxMail | None:
    files = mail_files(outbox)
    if not 1 <= number <= len(files):
        return None
    return OutboxMail(number, files[number - 1], _parse(files[number - 1], False))


def _parse(path: Path, headers_only: bool) -> EmailMessage:
    if headers_only:
        with path.open("rb") as handle:
            return BytesHeaderParser(policy=email.policy.default).parse(handle)
    return email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
