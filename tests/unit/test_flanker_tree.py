"""flanker's tree read in place (ingest/reading/flanker_tree.py) is flanker's own tree.

`tree` replaces the StringIO flanker's scanner builds (4 bytes per character: 100 MB for a
25 MB mail) with a cursor over the string, and the MIME walk cuts each part's bytes from the
raw mail at the offsets flanker found. Both must give exactly what flanker's `from_string`,
`read_body` and `read_message` give, on every mail we have and on damaged ones."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.reading import flanker_tree
from ingest.reading.quiet_flanker import mime as flanker_mime

TESTS = Path(__file__).resolve().parents[1]
MAILS = sorted(
    path
    for folder in ("corpus", "corpus-blind", "corpus-holdout", "corpus-triage", "fixtures")
    for path in (TESTS / folder).rglob("*.eml")
)


def _parts(root):
    """Every part, depth first, enclosed messages included."""
    stack = [root]
    while stack:
        part = stack.pop()
        yield part
        stack.extend(reversed(part.parts or ()))
        if part.content_type.is_message_container() and part.enclosed is not None:
            stack.append(part.enclosed)


def _shape(root) -> list:
    """What the MIME walk reads of each part: type, headers, and its bytes cut by flanker."""
    return [
        (
            part.content_type.value,
            list(part.headers.iteritems(raw=True)),
            part._container.read_body(),
            part._container.read_message(),
        )
        for part in _parts(root)
    ]


def _parse(text: str, parse):
    try:
        return _shape(parse(text)), None
    except Exception as exc:
        return None, (type(exc).__name__, str(exc))


@pytest.mark.parametrize("path", MAILS, ids=lambda p: str(p.relative_to(TESTS)))
def test_the_tree_and_every_cut_are_flankers_own(path):
    raw = path.read_bytes()
    text = raw.decode("latin-1")
    assert _parse(text, flanker_tree.tree) == _parse(text, flanker_mime.from_string)
    try:
        root = flanker_tree.tree(text)
    except Exception:
        return
    for part in _parts(root):
        start, stop = flanker_tree.body_span(part)
        assert raw[start:stop] == part._container.read_body().encode("latin-1")
        start, stop = flanker_tree.message_span(part)
        assert raw[start:stop] == part._container.read_message().encode("latin-1")


def test_a_part_with_an_empty_body_is_cut_as_flanker_cuts_it():
    # A body of length -1 by flanker's arithmetic: StringIO.read(-1) reads to the end.
    text = (
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n"
    )
    raw = text.encode("latin-1")
    for part in _parts(flanker_tree.tree(text)):
        start, stop = flanker_tree.body_span(part)
        assert raw[start:stop] == part._container.read_body().encode("latin-1")


OPS = st.lists(
    st.one_of(
        st.tuples(st.just("seek"), st.integers(0, 40)),
        st.tuples(st.just("read"), st.integers(-2, 12)),
        st.tuples(st.just("readline"), st.integers(-1, 12)),
        st.tuples(st.just("tell"), st.just(0)),
        st.tuples(st.just("next"), st.just(0)),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="ab\n\r é", max_size=30), ops=OPS)
def test_the_cursor_reads_as_stringio_reads(text, ops):
    ours, theirs = flanker_tree.TextCursor(text), io.StringIO(text)
    for op, arg in ops:
        if op == "next":
            assert next(ours, None) == next(theirs, None)
        elif op == "tell":
            assert ours.tell() == theirs.tell()
        else:
            assert getattr(ours, op)(arg) == getattr(theirs, op)(arg)
    assert list(ours) == list(theirs)


def test_the_tree_does_not_copy_the_mail():
    """The scanner's StringIO held 4 bytes per character; the cursor holds none."""
    text = "Content-Type: text/plain\r\n\r\n" + "x" * 2_000_000
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        root = flanker_tree.tree(text)
        grown = tracemalloc.get_traced_memory()[0] - before
        assert root is not None
        assert grown < len(text) // 10, grown
        tracemalloc.reset_peak()
        flanker_mime.from_string(text)
        assert tracemalloc.get_traced_memory()[1] - before > 3 * len(text)  # flanker's own copy
    finally:
        tracemalloc.stop()


def test_reading_a_big_attachment_costs_under_three_times_its_size():
    """A mail's bytes, its latin-1 text for flanker, the attachment's base64 cut from the bytes,
    the decoded file: 25 MB mail peaked at 8.7x its size in the parser before, 2.8x after."""
    import base64
    import os

    from ingest.reading import mime

    blob = base64.encodebytes(os.urandom(3_000_000)).replace(b"\n", b"\r\n")
    raw = (
        b"From: a@b.example\r\nSubject: logs\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="zz"\r\n\r\n'
        b"--zz\r\nContent-Type: text/plain\r\n\r\nLes journaux.\r\n"
        b'--zz\r\nContent-Type: application/pdf; name="j.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + blob + b"--zz--\r\n"
    )
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        content = mime.parse(raw)
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
    assert [a.size for a in content.attachments] == [3_000_000]
    assert peak < 3 * len(raw), peak / len(raw)
