"""Bytes and header values to text: declared charsets, mislabelled mail and RFC 2047 words."""

from __future__ import annotations

import base64
import binascii
import codecs
import re

# Labels seen in real mail that Python's codec registry does not know, or knows as a
# narrower charset than the one senders actually use.
_ALIASES = {
    "iso-8859-8-i": "iso-8859-8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-sjis": "shift_jis",
    "x-mac-roman": "mac-roman",
    "windows-31j": "cp932",
    "windows-874": "cp874",
}
# Labels that say "no idea": decode as if no charset had been declared.
_UNKNOWN = {"", "x-unknown", "unknown", "unknown-8bit", "x-user-defined", "default", "none"}
# Senders label windows-1252 text as latin-1 or ascii; browsers decode it that way too.
_WINDOWS_1252_LABELS = {"ascii", "iso8859-1"}
# Single-byte charsets never fail to decode, so valid UTF-8 under them is a mislabel.
_SINGLE_BYTE_PREFIXES = ("ascii", "iso8859", "cp125", "koi8", "mac-", "cp437", "cp850")
# Charsets in which an ASCII-only byte string means exactly its ASCII text.
_ASCII_SAFE_PREFIXES = (
    *_SINGLE_BYTE_PREFIXES,
    "utf-8",
    "gb18030",
    "cp9",
    "shift_jis",
    "euc",
    "big5",
)

_FALLBACK = "guichet-windows-1252"
_ENCODED_WORD = re.compile(r"=\?([^?\s]+?)(?:\*[^?\s]*)?\?([bBqQ])\?(.*?)\?=", re.DOTALL)
_SPACE_ONLY = re.compile(r"[ \t\r\n]*")
_BASE64_AND_SPACE = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \t\r\n"
_CRLF = re.compile(r"\s*[\r\n]+\s*")


def _windows_1252_per_byte(error: UnicodeDecodeError) -> tuple[str, int]:
    # Mail that mixes UTF-8 with pasted windows-1252 text: keep the UTF-8 and read only
    # the invalid bytes as windows-1252, instead of turning the whole body to mojibake.
    bad = error.object[error.start : error.end]
    return bad.decode("cp1252", "replace"), error.end


codecs.register_error(_FALLBACK, _windows_1252_per_byte)


def codec_name(label: str | None) -> str | None:
    """Python codec name for a charset label, or None when absent or unknown."""
    if label is None:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _UNKNOWN:
        return None
    label = _ALIASES.get(label, label)
    try:
        return codecs.lookup(label[:64]).name
    except (LookupError, ValueError):  # ValueError: a NUL inside the label
        return None


def decode_bytes(data: bytes, label: str | None = None) -> tuple[str, list[str]]:
    """Decode body or header bytes; returns the text and the defects met on the way."""
    codec = codec_name(label)
    if data.isascii() and (codec is None or codec.startswith(_ASCII_SAFE_PREFIXES)):
        return data.decode("ascii"), []
    unknown = codec is None and label is not None and label.strip().lower() not in _UNKNOWN
    defects = [f"unknown charset {label!r}"] if unknown else []
    if codec is None or codec == "utf-8":
        return _utf8_first(data, defects)
    if codec.startswith(_SINGLE_BYTE_PREFIXES):
        return _single_byte(data, codec, label, defects)
    try:
        return data.decode(codec), defects
    except (UnicodeDecodeError, LookupError):
        defects.append(f"bytes invalid in declared charset {label!r}")
        return _utf8_first(data, defects)


def _utf8_first(data: bytes, defects: list[str]) -> tuple[str, list[str]]:
    try:
        return data.decode("utf-8"), defects
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", _FALLBACK)
    defects.append("invalid utf-8 bytes read as windows-1252")
    if "\ufffd" in text:
        defects.append("undecodable bytes replaced by U+FFFD")
    return text, defects


def _single_byte(data: bytes, codec: str, label: str | None, defects: list[str]):
    try:
        text = data.decode("utf-8")
        defects.append(f"declared charset {label!r} but content is utf-8")
        return text, defects
    except UnicodeDecodeError:
        pass
    if codec in _WINDOWS_1252_LABELS:
        codec = "cp1252"
    try:
        return data.decode(codec), defects
    except UnicodeDecodeError:
        defects.append(f"undecodable bytes in {label!r} replaced by U+FFFD")
        return data.decode(codec, "replace"), defects


def header_text(raw: bytes | str) -> str:
    """A header value as readable text: 8-bit bytes, RFC 2047 words, no CR/LF."""
    if isinstance(raw, bytes):
        raw = decode_bytes(raw)[0]
    if "=?" in raw:
        raw = decode_words(raw)
    return _CRLF.sub(" ", raw).strip()


def redecode(value: str) -> str:
    """Fix a value a parser decoded as latin-1 though its raw bytes were UTF-8."""
    if value.isascii():
        return value
    try:
        return header_text(value.encode("latin-1"))
    except UnicodeEncodeError:
        return header_text(value)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words; adjacent words are joined before decoding."""
    out: list[str] = []
    pending: list[bytes] = []
    charset = None
    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[pos : match.start()]
        word_charset = match.group(1).lower()
        # RFC 2047: white space between two encoded words is not part of the text.
        adjacent = bool(pending) and _SPACE_ONLY.fullmatch(gap) is not None
        if not adjacent or word_charset != charset:
            _flush(out, pending, charset)
        if not adjacent:
            out.append(gap)
        pending.append(_word_bytes(match.group(2), match.group(3)))
        charset = word_charset
        pos = match.end()
    _flush(out, pending, charset)
    out.append(value[pos:])
    return "".join(out)


def _flush(out: list[str], pending: list[bytes], charset: str | None) -> None:
    # Words of one charset are decoded together: encoders split multibyte characters.
    if pending:
        out.append(decode_bytes(b"".join(pending), charset)[0])
        pending.clear()


def _word_bytes(kind: str, text: str) -> bytes:
    data = text.encode("ascii", "replace")
    if kind in "qQ":
        return binascii.a2b_qp(data, header=True)
    return base64_lenient(data)[0]


def _has_foreign(data: bytes, chunk: int = 1 << 16) -> bool:
    """A byte outside the base64 alphabet and spaces; read by pieces, so a big attachment is not
    copied whole (translate builds its result at the input's size before shrinking it)."""
    return any(
        data[at : at + chunk].translate(None, _BASE64_AND_SPACE)
        for at in range(0, len(data), chunk)
    )


def base64_lenient(data: bytes) -> tuple[bytes, bool]:
    """Decode base64, repairing padding and junk; the flag says repair was needed."""
    try:
        decoded = base64.b64decode(data)
        # b64decode skips foreign characters silently; report them as damage.
        return decoded, _has_foreign(data)
    except (binascii.Error, ValueError):
        pass
    clean = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    if len(clean) % 4 == 1:  # a lone trailing character carries no whole byte
        clean = clean[:-1]
    return base64.b64decode(clean + b"=" * (-len(clean) % 4)), True
