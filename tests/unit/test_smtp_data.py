"""DATA read in pieces (ingest/edges/smtp_data.py) gives what a line-by-line reader gives.

The reference below reads as RFC 5321 §4.5.2 and aiosmtpd do: lines end with <CRLF>, a lone
"." ends the message, a leading "." is taken off, the size counts the lines as sent. The
stream arrives in random cuts, the reader's limit is small (so long stretches come in
pieces), and what follows the final dot (pipelined commands) must stay in the reader."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.edges import smtp_data


def reference(stream: bytes, max_size: int) -> tuple[bytes | None, bytes] | None:
    """(message or None when too big, what follows) read line by line; None: no final dot."""
    lines, size, position = [], 0, 0
    while True:
        end = stream.find(b"\r\n", position)
        if end < 0:
            return None
        line, position = stream[position : end + 2], end + 2
        if line == b".\r\n":
            break
        size += len(line)
        lines.append(line[1:] if line.startswith(b".") else line)
    message = b"".join(lines)
    return (None if max_size and size > max_size else message), stream[position:]


async def read(stream: bytes, cuts: list[int], limit: int, max_size: int):
    reader = asyncio.StreamReader(limit=limit)

    async def feed():
        position = 0
        for cut in [*cuts, len(stream)]:
            reader.feed_data(stream[position : position + cut])
            position += cut
            await asyncio.sleep(0)
        reader.feed_data(stream[position:])
        reader.feed_eof()

    feeding = asyncio.ensure_future(feed())
    try:
        message = await smtp_data.read_message(reader, max_size)
    except asyncio.IncompleteReadError:
        await feeding
        return None
    await feeding
    return message, await reader.read()


BYTES = st.lists(st.sampled_from([b".", b"\r", b"\n", b"\r\n", b"a", b"..", b"\r\n."]))


@settings(max_examples=600, deadline=None)
@given(
    body=BYTES,
    end=st.sampled_from([b"\r\n.\r\n", b".\r\n", b""]),
    after=st.sampled_from([b"", b"QUIT\r\n", b"MAIL FROM:<a@b.example>\r\n.\r\n"]),
    cuts=st.lists(st.integers(0, 9), max_size=12),
    limit=st.integers(3, 24),
    max_size=st.sampled_from([0, 5, 20, 10_000]),
)
def test_the_message_is_read_as_line_by_line(body, end, after, cuts, limit, max_size):
    stream = b"".join(body) + end + after
    expected = reference(stream, max_size)
    assert asyncio.run(read(stream, cuts, limit, max_size)) == expected


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (b".\r\n", b""),  # the empty message
        (b"..\r\n.\r\n", b".\r\n"),  # a first line that is a dot, stuffed
        (b"\r\n.\r\n", b"\r\n"),  # one empty line
        (b"a.\r\n.\r\n", b"a.\r\n"),  # a line ending with a period is no end
        (b"a\n.\r\nb\r\n.\r\n", b"a\n.\r\nb\r\n"),  # a bare LF before the dot: not a line start
        (b"x\r\n...\r\n.\r\n", b"x\r\n..\r\n"),  # one dot taken off, not two
    ],
)
def test_the_corners_of_rfc_5321(stream, message):
    assert asyncio.run(read(stream + b"QUIT\r\n", [1, 2, 1], 3, 0)) == (message, b"QUIT\r\n")


def test_a_big_message_costs_about_its_size_while_read():
    """aiosmtpd kept each line as a bytearray, then joined them: ≈ 3.5x a 25 MB mail; read
    in pieces into one buffer that becomes the message, it is the message and a little more."""
    line = b"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAxMjM0\r\n"
    stream = line * 60_000 + b".\r\n"
    cuts = [64 * 1024] * (len(stream) // (64 * 1024))  # as a socket delivers it
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        message, rest = asyncio.run(read(stream, cuts, smtp_data.PIECE, 0))
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert message == stream[:-3] and rest == b""
    assert peak < 2.5 * len(stream), peak / len(stream)  # tracemalloc: 2.0x (1x in a real listener)


def test_an_oversized_message_is_read_to_its_end_and_let_go():
    stream = b"a" * 100 + b"\r\n" + b"b\r\n" * 1000 + b".\r\nQUIT\r\n"
    assert asyncio.run(read(stream, [7, 300], 16, 500)) == (None, b"QUIT\r\n")


def test_the_listener_reads_data_in_pieces(monkeypatch):
    """A real SMTP session: the message reaches the handler through `read_message`, dot-stuffing
    undone (removing the override would leave this test without a call to count)."""
    import smtplib

    from ingest.edges.smtp_session import GuichetSMTP

    calls, received = [], []
    real = smtp_data.read_message

    async def counted(reader, max_size):
        calls.append(max_size)
        return await real(reader, max_size)

    monkeypatch.setattr(smtp_data, "read_message", counted)

    class Limits:
        def connect(self, *_):
            return True

        def disconnect(self, *_):
            pass

    class Handler:
        limits = Limits()

        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.original_content)
            return "250 OK"

    def send(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
            client.sendmail("a@b.example", ["support@dri.example"], b"Subject: x\r\n\r\n.dot\r\n")

    async def scenario():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            lambda: GuichetSMTP(Handler(), max_size=1000, hostname="t"), "127.0.0.1", 0
        )
        async with server:
            await asyncio.to_thread(send, server.sockets[0].getsockname()[1])

    asyncio.run(scenario())
    assert calls == [1000]
    assert received == [b"Subject: x\r\n\r\n.dot\r\n"]
