"""A provider's form (multipart or urlencoded), parsed as it streams in with python-multipart.

Text fields are small and kept; the raw message goes to a spooled file (memory up to
`SPOOL_IN_MEMORY`, then disk), so no body is ever held whole before it is authenticated."""

from __future__ import annotations

import tempfile
from urllib.parse import unquote_plus, unquote_to_bytes

from python_multipart.multipart import MultipartParser, QuerystringParser, parse_options_header

MIME_FIELDS = ("body-mime", "message")  # Mailgun's "store and notify" name, then a generic one
SPOOL_IN_MEMORY = 1024 * 1024
FIELD_CAP = 64 * 1024  # bytes of one text field
MAX_FIELDS = 100


class FormError(ValueError):
    """The body is not a form we can read, or one of its parts is over its cap."""


class StreamedForm:
    """Feed it chunks; `fields` fills as each text field ends, `message()` once the form is done."""

    def __init__(self, content_type: str, message_cap: int):
        kind, options = parse_options_header(content_type)
        self.fields: dict[str, str] = {}
        self.message_cap, self._size, self._urlencoded = message_cap, 0, False
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115 (closed by message()/discard())
        self._begin()
        if kind == b"multipart/form-data" and options.get(b"boundary"):
            self.parser = MultipartParser(options[b"boundary"], self._multipart_callbacks())
        elif kind == b"application/x-www-form-urlencoded":
            self._urlencoded = True
            self.parser = QuerystringParser(self._urlencoded_callbacks())
        else:
            raise FormError("the body is not multipart/form-data or urlencoded")

    def feed(self, chunk: bytes) -> None:
        try:
            self.parser.write(chunk)
        except FormError:
            raise
        except Exception as error:  # the parser's own errors: a malformed form
            raise FormError("the form cannot be read") from error

    def message(self) -> bytes:
        """The raw message, read back once the form is complete (and authenticated)."""
        self.parser.finalize()
        self._spool.seek(0)
        data = self._spool.read()
        self._spool.close()
        return unquote_to_bytes(data.replace(b"+", b" ")) if self._urlencoded else data

    def discard(self) -> None:
        self._spool.close()

    # One part or field at a time -----------------------------------------------------------

    def _begin(self) -> None:
        self._raw_name, self._value, self._headers, self._header = b"", bytearray(), {}, b""
        self._name: str | None = None  # decoded once the whole name has arrived

    def _data(self, data: bytes, start: int, end: int) -> None:
        piece = data[start:end]
        if self._name in MIME_FIELDS:
            self._size += len(piece)
            if self._size > self.message_cap:
                raise FormError(f"the message exceeds the limit of {self.message_cap} bytes")
            self._spool.write(piece)
        elif len(self._value) + len(piece) > FIELD_CAP:
            raise FormError(f"a form field exceeds {FIELD_CAP} bytes")
        else:
            self._value += piece

    def _end(self) -> None:
        if not self._name or self._name in MIME_FIELDS:
            return
        if len(self.fields) >= MAX_FIELDS:
            raise FormError(f"more than {MAX_FIELDS} form fields")
        value = bytes(self._value)
        text = (
            unquote_plus(value.decode("latin-1"))
            if self._urlencoded
            else value.decode("utf-8", "replace")
        )
        self.fields.setdefault(self._name, text)

    def _multipart_callbacks(self) -> dict:
        def header_field(data, start, end):
            self._header += data[start:end]

        def header_value(data, start, end):
            key = self._header.lower()
            self._headers[key] = self._headers.get(key, b"") + data[start:end]

        def header_end():
            self._header = b""

        def headers_finished():
            _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
            self._name = options.get(b"name", b"").decode("utf-8", "replace")

        return {
            "on_part_begin": self._begin,
            "on_header_field": header_field,
            "on_header_value": header_value,
            "on_header_end": header_end,
            "on_headers_finished": headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _urlencoded_callbacks(self) -> dict:
        def name(data, start, end):
            self._raw_name += data[start:end]

        def named():
            if self._name is None:
                self._name = unquote_plus(self._raw_name.decode("latin-1"))

        def data(chunk, start, end):
            named()
            self._data(chunk, start, end)

        def end():
            named()
            self._end()

        return {
            "on_field_start": self._begin,
            "on_field_name": name,
            "on_field_data": data,
            "on_field_end": end,
        }
