"""Parser adapters: the MIME walk asks flanker and the standard library the same questions."""

from __future__ import annotations

import binascii
import email
import email.policy
import email.utils
import functools
import re

from ingest.reading import flanker_tree
from ingest.reading.charsets import base64_lenient, header_text, redecode


class FlankerView:
    """flanker's tree, fed latin-1 text so every part's raw bytes can be recovered."""

    name = "flanker"

    def __init__(self) -> None:
        self.parent_boundary: dict[int, str] = {}  # id(part) -> its parent's boundary
        self.raw = b""

    def root(self, raw: bytes):
        # latin-1 maps bytes 1:1 to characters: flanker's own whole-message charset
        # guess (chardet) is skipped and we decode each part by its own charset; a part's
        # bytes are cut from `raw` at the offsets flanker found in the text.
        self.raw = raw
        return flanker_tree.tree(raw.decode("latin-1"))

    def content_type(self, part) -> str:
        return part.content_type.value

    def charset(self, part) -> str | None:
        if "Content-Type" not in part.headers:  # flanker's default says ascii; nobody did
            return None
        return part.content_type.params.get("charset")

    def disposition(self, part) -> str | None:
        value = part.content_disposition.value
        return value.lower() if value else None

    def filename(self, part) -> str | None:
        name = part.content_disposition.params.get("filename")
        name = name or part.content_type.params.get("name")
        return redecode(name) if name else None

    def has_content_id(self, part) -> bool:
        return "Content-Id" in part.headers

    def children(self, part) -> list | None:
        if not part.content_type.is_multipart():
            return None
        if not part.parts:  # flanker gives up silently on a multipart it cannot split
            raise ValueError("flanker found no part in a multipart")
        boundary = part.content_type.get_boundary() or ""
        self.parent_boundary.update((id(child), boundary) for child in part.parts)
        return list(part.parts)

    def enclosed(self, part):
        return part.enclosed if part.content_type.is_message_container() else None

    def headers(self, part) -> list[tuple[str, bytes]]:
        items = part.headers.iteritems(raw=True)
        return [(k, v.encode("latin-1", "replace")) for k, v in items if isinstance(v, str)]

    def defects(self, part) -> list[str]:
        return []

    def payload(self, part) -> tuple[bytes, str | None]:
        # The public `body` would re-guess charsets; the raw slice keeps bytes exact.
        start, stop = flanker_tree.body_span(part)
        raw = self.raw[start:stop]
        boundary = self.parent_boundary.get(id(part))
        if (
            boundary
            and (delimiter := _delimiter(boundary))
            and delimiter in raw  # the regex (one per boundary) only when it may find one
            and _delimiter_line(delimiter).search(raw)
        ):
            # flanker mis-cuts some parts (an empty part before a closing boundary)
            # without raising: its own parent's boundary inside a part gives it away.
            raise ValueError("flanker cut a part across its parent's boundary")
        encoding = part.headers.get("Content-Transfer-Encoding")
        return transfer_decode(raw, str(encoding.value) if encoding else "")

    def message_bytes(self, part) -> bytes:
        start, stop = flanker_tree.message_span(part.enclosed)
        return self.raw[start:stop]


def _delimiter(boundary: str) -> bytes | None:
    """The parent's delimiter in bytes; None when no byte string can hold it (a boundary with
    characters beyond latin-1 never occurs in latin-1 text)."""
    try:
        return b"--" + boundary.encode("latin-1")
    except UnicodeEncodeError:
        return None


@functools.lru_cache(maxsize=64)
def _delimiter_line(delimiter: bytes) -> re.Pattern:
    """A line holding the delimiter alone (or closing it)."""
    return re.compile(rb"^" + re.escape(delimiter) + rb"(?:--)?[ \t]*\r?$", re.MULTILINE)


class StdlibView:
    """The standard library's tree, for mail that flanker rejects."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.policy = email.policy.default if name == "email-default" else email.policy.compat32
        self.types: dict[int, str] = {}

    def root(self, raw: bytes):
        return email.message_from_bytes(raw, policy=self.policy)

    def content_type(self, part) -> str:
        # policy.default re-parses the header on every call: ask once per part.
        if id(part) not in self.types:
            self.types[id(part)] = part.get_content_type()
        return self.types[id(part)]

    def charset(self, part) -> str | None:
        return email.utils.collapse_rfc2231_value(part.get_param("charset") or "") or None

    def disposition(self, part) -> str | None:
        return part.get_content_disposition()

    def filename(self, part) -> str | None:
        name = part.get_filename()
        return header_text(str(name)) if name else None

    def has_content_id(self, part) -> bool:
        return "Content-ID" in part

    def children(self, part) -> list | None:
        multi = self.content_type(part).startswith("multipart/") and part.is_multipart()
        return list(part.get_payload()) if multi else None

    def enclosed(self, part):
        if self.content_type(part) not in ("message/rfc822", "message/global"):
            return None
        inner = part.get_payload()
        return inner[0] if isinstance(inner, list) and inner else None

    def headers(self, part) -> list[tuple[str, bytes]]:
        return [(k, str(v).encode("ascii", "surrogateescape")) for k, v in part.raw_items()]

    def defects(self, part) -> list[str]:
        return [f"{self.name}: {type(d).__name__}" for d in part.defects]

    def payload(self, part) -> tuple[bytes, str | None]:
        data = part.get_payload(decode=True)  # defects of this step land in part.defects
        if data is None:  # message/delivery-status and the like: a list of header blocks
            data = b"".join(p.as_bytes() for p in part.get_payload() or ())
        return data, None

    def message_bytes(self, part) -> bytes:
        return self.enclosed(part).as_bytes()


def count_parts(view, part) -> int:
    """Parts in a subtree, without decoding any of them (for the part-limit defect)."""
    stack, total = [part], 0
    while stack:
        node = stack.pop()
        total += 1
        stack.extend(view.children(node) or ())
        if (inner := view.enclosed(node)) is not None:
            stack.append(inner)
    return total


def transfer_decode(body: bytes, encoding: str) -> tuple[bytes, str | None]:
    """Undo Content-Transfer-Encoding; unknown encodings give the bytes as they are."""
    encoding = encoding.strip().lower()
    if encoding == "base64":
        data, repaired = base64_lenient(body)
        return data, ("damaged base64 decoded as far as possible" if repaired else None)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(body), None
    if encoding in ("", "7bit", "8bit", "binary"):
        return body, None
    return body, f"unknown transfer encoding {encoding!r} left as is"
