"""flanker's MIME tree over one latin-1 string, without the copy flanker's scanner makes of it.

`flanker.mime.from_string` wraps the whole mail in an `io.StringIO` so that its parts can seek
and read their headers and bodies; StringIO stores 4 bytes per character, so a 25 MB mail cost
the parser 100 MB before anything was read. `tree(text)` builds the same tree with the same
scanner, over `TextCursor`, which reads the string in place. Where the body of a part is wanted
as bytes, `body_span` gives its position, so the caller slices the raw mail (latin-1 maps one
byte to one character: the offsets are the same) instead of slicing and re-encoding the text.
"""

from __future__ import annotations

from ingest.reading.quiet_flanker import mime as flanker_mime

try:
    from flanker.mime.message import scanner
    from flanker.mime.message.errors import DecodingError

    _SCANNER = all(
        hasattr(scanner, name)
        for name in ("tokenize", "traverse", "Start", "TokensIterator", "default_content_type")
    )
except ImportError:  # another flanker layout: its own entry point, with its copy
    _SCANNER = False


class TextCursor:
    """The reading half of `io.StringIO(text)` (newline="\\n"): seek, tell, read, readline and
    line iteration, over the string itself."""

    __slots__ = ("text", "pos")

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence != 0 or pos < 0:
            raise ValueError(f"TextCursor seeks from the start only (got {pos}, {whence})")
        self.pos = pos
        return pos

    def tell(self) -> int:
        return self.pos

    def read(self, size: int | None = -1) -> str:
        start = self.pos
        if start >= len(self.text):
            return ""
        stop = len(self.text) if size is None or size < 0 else min(len(self.text), start + size)
        self.pos = stop
        return self.text[start:stop]

    def readline(self, size: int | None = -1) -> str:
        start = self.pos
        if start >= len(self.text):
            return ""
        stop = self.text.find("\n", start)
        stop = len(self.text) if stop < 0 else stop + 1
        if size is not None and size >= 0:
            stop = min(stop, start + size)
        self.pos = stop
        return self.text[start:stop]

    def __iter__(self) -> TextCursor:
        return self

    def __next__(self) -> str:
        line = self.readline()
        if not line:
            raise StopIteration
        return line


if _SCANNER:

    class _Tokens(scanner.TokensIterator):
        """flanker's token iterator with a `TextCursor` where it would build a StringIO."""

        def __init__(self, tokens, string: str) -> None:
            self.position, self.tokens, self.string, self.opcount = -1, tokens, string, 0
            self.stream = TextCursor(string)


def tree(text: str):
    """`flanker.mime.from_string(text)` for a str, read in place; same tree, same errors."""
    if not _SCANNER:
        return flanker_mime.from_string(text)
    tokens = scanner.tokenize(text) or [scanner.default_content_type()]
    try:
        return scanner.traverse(scanner.Start(), _Tokens(tokens, text))
    except DecodingError:
        raise
    except Exception as cause:  # as flanker's own scan reports it
        raise DecodingError("Malformed MIME message") from cause


def body_span(part) -> tuple[int, int]:
    """[start, stop) of the part's body in the string, as flanker's `read_body` cuts it (a
    negative length reads to the end of the string, as StringIO.read does)."""
    container = part._container
    container._load_headers()
    return _span(container._body_start, container.end - container._body_start + 1, container)


def message_span(part) -> tuple[int, int]:
    """[start, stop) of a whole part (headers and body), as flanker's `read_message` cuts it."""
    container = part._container
    return _span(container.start, container.end - container.start + 1, container)


def _span(start: int, size: int, container) -> tuple[int, int]:
    length = len(container.string)
    if start >= length:
        return length, length
    return start, length if size < 0 else min(length, start + size)
