"""Raw mail bytes to `Content`: flanker first, the standard library as fallback, never raising."""

from __future__ import annotations

import hashlib
import re
from email.utils import parseaddr

from ingest.model import Attachment, Content
from ingest.reading.charsets import decode_bytes, header_text
from ingest.reading.header_block import split_header_block
from ingest.reading.html_text import html_to_text
from ingest.reading.mime_parsers import FlankerView, StdlibView, count_parts
from ingest.reading.quiet_flanker import address as flanker_address

MAX_PARTS = 1000  # parts walked for text and attachments; the rest is counted in a defect
MAX_DEPTH = 50  # nesting of multiparts and attached messages
PARSER_DEFECT = "parser:"  # prefix of the defect that names the parser used
FORWARD_MARKER = "---------- Forwarded message ----------"
FORWARD_HEADERS = ("From", "Date", "Subject", "To")
# Text subtypes that are data for programs, not prose for the rules: listed as files.
STRUCTURED_TEXT = {
    "text/calendar",
    "text/vcard",
    "text/x-vcard",
    "text/directory",
    "text/rfc822-headers",
}

_ANGLE_ID = re.compile(r"<\s*([^<>\s]+?)\s*>")
_COMMENT = re.compile(r"\([^()]*\)")


def parse(
    raw: bytes,
    *,
    envelope_sender: str = "",
    recipients: list[str] = (),
    client_ip: str = "",
    max_parts: int = MAX_PARTS,
) -> Content:
    """Everything the intake rules need from one mail; problems become `defects`."""
    content = Content(
        channel="smtp",
        envelope_sender=envelope_sender,
        recipients=[r.lower() for r in recipients],
        client_ip=client_ip,
    )
    raw = bytes(raw)
    try:
        raw, body_start = _read_headers(content, raw)
    except Exception as exc:  # a header we cannot read must not cost the body
        content.defects.append(f"headers unreadable: {exc!r}")
        body_start = 0
    _read_body(content, raw, body_start, max_parts)
    return content


# -- headers ---------------------------------------------------------------------------


def _read_headers(content: Content, raw: bytes) -> tuple[bytes, int]:
    """Read the header block into `content`; the raw mail without its defective header lines
    (so the MIME parsers see the Content-Type after one) and where its body starts."""
    block = split_header_block(raw, content.defects)
    fields = block.fields
    content.headers = [(name, header_text(value)) for name, value in fields]
    content.subject = content.header("Subject") or ""
    first_from = next((v for n, v in fields if n.lower() == "from"), None)
    if first_from is not None:
        content.from_address, content.from_name = sender(decode_bytes(first_from)[0])
    content.message_id = next(iter(message_ids(content.header("Message-ID") or "")), "")
    content.in_reply_to = message_ids(" ".join(content.header_all("In-Reply-To")))
    content.references = message_ids(" ".join(content.header_all("References")))
    repaired = block.repaired(raw)
    return repaired, block.body_start - (len(raw) - len(repaired))


def sender(value: str) -> tuple[str, str]:
    """(lower-cased address, display name) of a From value; ("", "") when hopeless."""
    try:
        parsed = flanker_address.parse(value)
    except Exception:  # flanker's grammar raises on some inputs parseaddr accepts
        parsed = None
    if parsed is not None and getattr(parsed, "addr_type", "") == "email":
        name, addr = parsed.display_name, parsed.address
        name = name or parseaddr(value)[0]  # "jean@x.fr (Jean Dupont)" comment form
    else:
        name, addr = parseaddr(value)
    return addr.strip().lower(), header_text(name).strip("\"' ")


def message_ids(value: str) -> list[str]:
    """Message ids of a Message-ID / In-Reply-To / References value, brackets removed."""
    ids = _ANGLE_ID.findall(value)
    if not ids:  # no brackets: keep only tokens that look like ids, not free text
        words = re.split(r"[\s,;]+", _COMMENT.sub(" ", value))
        ids = [w.strip("<>") for w in words if "@" in w.strip("<>")]
    return list(dict.fromkeys(ids))


# -- body ------------------------------------------------------------------------------


def _read_body(content: Content, raw: bytes, body_start: int, max_parts: int) -> None:
    for view in (FlankerView(), StdlibView("email-default"), StdlibView("email-compat32")):
        try:
            walk = Walk(view, max_parts)
            walk.part(view.root(raw), 0, True)
        except Exception as exc:  # each parser rejects different damage: try the next
            content.defects.append(f"{view.name} failed: {type(exc).__name__}: {exc}"[:300])
            continue
        content.defects[:0] = [PARSER_DEFECT + view.name]
        content.text, content.attachments = walk.text(), walk.attachments
        content.defects.extend(walk.finish())
        return
    content.defects[:0] = [PARSER_DEFECT + "none"]
    text, defects = decode_bytes(raw[body_start:])
    content.text = text.replace("\r\n", "\n")
    content.defects.extend(defects)


class Walk:
    """One pass over the MIME tree: readable text in order, every other part as a file."""

    def __init__(self, view, max_parts: int) -> None:
        self.view, self.max_parts = view, max_parts
        self.texts: list[str] = []
        self.attachments: list[Attachment] = []
        self.defects: list[str] = []
        self.walked = self.skipped = 0
        self._read: dict[int, str] = {}

    def text(self) -> str:
        return "\n\n".join(self.texts)

    def finish(self) -> list[str]:
        if self.skipped:
            limits = f"{self.max_parts} parts, {MAX_DEPTH} levels"
            self.defects.append(f"part limit ({limits}) reached: {self.skipped} parts not listed")
        return self.defects

    def part(self, part, depth: int, wants_text: bool) -> None:
        if self.walked >= self.max_parts or depth > MAX_DEPTH:
            self.skipped += count_parts(self.view, part)
            return
        self.walked += 1
        self.defects.extend(self.view.defects(part))
        children, inner = self.view.children(part), self.view.enclosed(part)
        if children is not None:
            self._multipart(part, children, depth, wants_text)
        elif inner is not None:
            self._forwarded(part, inner, depth, wants_text)
        else:
            self._leaf(part, wants_text)

    def _multipart(self, part, children: list, depth: int, wants_text: bool) -> None:
        chosen = None
        if wants_text and self.view.content_type(part) == "multipart/alternative":
            chosen = self._pick_alternative(children)
        for child in children:
            self.part(child, depth + 1, wants_text and (chosen is None or child is chosen))

    def _pick_alternative(self, children: list):
        # RFC 2046 puts the richest last; we prefer plain text when the sender wrote one.
        for child in children:
            if self._is_body(child, "text/plain") and self.body_text(child).strip():
                return child
        bodies = [c for c in children if self.view.disposition(c) != "attachment"]
        return bodies[-1] if bodies else None

    def _forwarded(self, part, inner, depth: int, wants_text: bool) -> None:
        self.attachments.append(self._attachment(part, self.view.message_bytes(part)))
        if wants_text:
            found = {name.lower(): value for name, value in reversed(self.view.headers(inner))}
            lines = [
                f"{n}: {header_text(found[n.lower()])}"
                for n in FORWARD_HEADERS
                if n.lower() in found
            ]
            self.texts.append("\n".join([FORWARD_MARKER, *lines]))
        self.part(inner, depth + 1, wants_text)

    def _leaf(self, part, wants_text: bool) -> None:
        body, named = self._is_body(part), self.view.filename(part) is not None
        if body and not (wants_text or named):
            return  # the alternative we did not pick: nothing to read, nothing to list
        data = self.payload(part)
        if named or not body:  # a named inline text file is read and also listed
            self.attachments.append(self._attachment(part, data))
        if body and wants_text and (text := self.body_text(part, data)).strip():
            self.texts.append(text)

    def _is_body(self, part, only: str | None = None) -> bool:
        ctype = self.view.content_type(part)
        if only is not None and ctype != only:
            return False
        readable = ctype.startswith("text/") and ctype not in STRUCTURED_TEXT
        readable = readable or ctype.startswith("multipart/")  # a multipart without parts
        return readable and self.view.disposition(part) != "attachment"

    def body_text(self, part, data: bytes | None = None) -> str:
        # Cached: picking an alternative reads the plain part that the walk then keeps.
        if id(part) not in self._read:
            data = self.payload(part) if data is None else data
            self._read[id(part)] = self._decode_text(part, data)
        return self._read[id(part)]

    def _decode_text(self, part, data: bytes) -> str:
        text, defects = decode_bytes(data, self.view.charset(part))
        ctype = self.view.content_type(part)
        self.defects.extend(f"{ctype}: {d}" for d in defects)
        if ctype == "text/html":
            return html_to_text(text)
        return text.replace("\r\n", "\n").strip("\n")

    def payload(self, part) -> bytes:
        data, defect = self.view.payload(part)
        if defect:
            self.defects.append(f"{self.view.content_type(part)}: {defect}")
        return data

    def _attachment(self, part, data: bytes) -> Attachment:
        disposition = self.view.disposition(part)
        if disposition not in ("attachment", "inline"):
            # Undeclared: a part the HTML refers to by Content-ID is shown inline.
            disposition = "inline" if self.view.has_content_id(part) else "attachment"
        return Attachment(
            filename=self.view.filename(part),
            content_type=self.view.content_type(part),
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            disposition=disposition,
        )
