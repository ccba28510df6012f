"""The header block of a raw mail: fields unfolded, defective lines skipped as mail programs do, where the body starts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"([\x21-\x39\x3b-\x7e]+)[ \t]*:(.*)", re.DOTALL)
MAX_BAD_RUN = 3  # consecutive defective lines skipped when a known field follows them
KNOWN_FIELDS = frozenset(
    {
        "from", "to", "cc", "bcc", "subject", "date", "message-id", "in-reply-to", "references",
        "reply-to", "sender", "return-path", "received", "mime-version", "importance", "priority",
        "auto-submitted", "precedence", "delivered-to", "dkim-signature", "domainkey-signature",
        "authentication-results", "received-spf", "thread-topic", "thread-index", "user-agent",
        "organization", "disposition-notification-to", "keywords", "comments",
    }
)  # fmt: skip
KNOWN_PREFIXES = ("x-", "content-", "list-", "arc-", "resent-", "original-")


@dataclass
class HeaderBlock:
    fields: list[tuple[str, bytes]] = field(default_factory=list)  # (name, raw value), unfolded
    body_start: int = 0  # offset of the body in the raw bytes
    skipped: list[tuple[int, int]] = field(default_factory=list)  # byte ranges of defective lines

    def repaired(self, raw: bytes) -> bytes:
        """The raw mail without its skipped lines, for the MIME parsers (which stop at them)."""
        if not self.skipped:
            return raw
        kept, position = [], 0
        for start, end in self.skipped:
            kept.append(raw[position:start])
            position = end
        kept.append(raw[position:])
        return b"".join(kept)


def known_field(name: str) -> bool:
    lowered = name.lower()
    return lowered in KNOWN_FIELDS or lowered.startswith(KNOWN_PREFIXES)


def split_header_block(raw: bytes, defects: list[str]) -> HeaderBlock:
    """Fields of the header block. A line that is no field and no fold is skipped, with a defect,
    when a known field follows within a few lines (Subject, Date, Message-ID are not lost);
    otherwise the header block ends there: the sender forgot the blank line before the body."""
    end = _HEADER_END.search(raw)
    if raw.startswith((b"\n", b"\r\n")):
        return HeaderBlock()
    lines = (raw[: end.start()] if end else raw).split(b"\n")
    block, offset = HeaderBlock(body_start=end.end() if end else len(raw)), 0
    for number, line in enumerate(lines):
        stripped = line.rstrip(b"\r")
        if stripped[:1] in (b" ", b"\t") and block.fields:  # unfold: the fold becomes one space
            name, value = block.fields[-1]
            block.fields[-1] = (name, value + b" " + stripped.lstrip(b" \t"))
        elif (match := _FIELD.match(stripped)) is not None:
            block.fields.append((match.group(1).decode("ascii"), match.group(2).lstrip()))
        elif not (offset == 0 and stripped.startswith(b"From ")):  # mbox separator
            if not _field_follows(lines, number):
                defects.append("header block ends without a blank line")
                block.body_start = offset
                return block
            block.skipped.append((offset, offset + len(line) + 1))
            defects.append(
                f"header line {number + 1} is not a header field, skipped: {_shown(stripped)}"
            )
        offset += len(line) + 1
    return block


def _field_follows(lines: list[bytes], number: int) -> bool:
    for line in lines[number + 1 : number + 1 + MAX_BAD_RUN]:
        match = _FIELD.match(line.rstrip(b"\r"))
        if match is not None:
            return known_field(match.group(1).decode("ascii"))
    return False


def _shown(line: bytes) -> str:
    text = line[:80].decode("utf-8", "replace")
    return repr(text + ("…" if len(line) > 80 else ""))
