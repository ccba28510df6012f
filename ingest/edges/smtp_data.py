"""DATA's message read in pieces up to the lone dot, instead of one line at a time.

aiosmtpd reads DATA line by line: a coroutine step, a debug log call and two joins per line,
each line kept as its own bytearray (≈ 2.5 times a big mail's size before the final join). Here
the reader is asked for everything up to the next ".<CRLF>", so a mail costs one step per line
that ends with a period (plus one per `piece` bytes of a long stretch without one), and the
message grows in one buffer.

RFC 5321 §4.5.2: the message ends at a line that is a lone "."; a line that begins with "." had
one more added by the client, which is taken off. Lines end with <CRLF> only.
"""

from __future__ import annotations

import asyncio
import io

DOT_LINE_END = b".\r\n"
CRLF = b"\r\n"
# The most the reader keeps waiting for ".<CRLF>": a longer stretch is taken in pieces this big.
PIECE = 256 * 1024


async def read_message(reader: asyncio.StreamReader, max_size: int) -> bytes | None:
    """The message as sent up to its final lone dot, without dot-stuffing; None when it is over
    `max_size` bytes (0: no limit; it is still read to its end, so the session can go on). The
    reader's limit must be at least 3 (it bounds what the reader buffers: set it to `PIECE`)."""
    max_size = max_size or float("inf")
    data = io.BytesIO()  # its getvalue() hands over its own buffer: no copy at the end
    size, over = 0, False
    previous = CRLF  # the last two bytes read: the message starts at the start of a line
    while True:
        piece, found = await _take(reader, DOT_LINE_END)
        if found and _at_line_start(piece, previous):
            size += len(piece) - len(DOT_LINE_END)
            if not over and size <= max_size:
                data.write(memoryview(piece)[: -len(DOT_LINE_END)])
            break
        size += len(piece)
        previous = (previous + piece)[-2:] if len(piece) < 2 else piece[-2:]
        if over:
            continue
        if size > max_size:
            over, data = True, io.BytesIO()  # let it go now; the rest is only counted
            continue
        data.write(piece)
    if over or size > max_size:
        return None
    return _unstuffed(data)


async def _take(reader: asyncio.StreamReader, separator: bytes) -> tuple[bytes, bool]:
    """Bytes up to and including `separator`, or, when the reader's limit comes first, what
    can be taken without cutting one in two."""
    try:
        return await reader.readuntil(separator), True
    except asyncio.LimitOverrunError as exc:
        return await reader.readexactly(exc.consumed), False


def _at_line_start(piece: bytes, previous: bytes) -> bool:
    """Whether the ".<CRLF>" that ends `piece` is a whole line (a <CRLF> just before it)."""
    before = piece[-5:-3] if len(piece) >= 5 else (previous + piece[:-3])[-2:]
    return before == CRLF


def _unstuffed(data: io.BytesIO) -> bytes:
    """Every line that begins with "." loses that dot (§4.5.2); a copy only when one does."""
    raw = data.getvalue()
    data.close()
    if raw.startswith(b"."):
        raw = raw[1:]
    if b"\r\n." in raw:
        raw = raw.replace(b"\r\n.", b"\r\n")
    return raw
