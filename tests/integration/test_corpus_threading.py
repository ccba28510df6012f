"""A generated corpus (plain, HTML, eight charsets, attachments, replies of every kind, colleagues,
out-of-office, copies, malformed) through the real stack: every reply threaded, no false merge.
`bench/threading_corpus.py` runs the same with 2,000 mails and prints the figures."""

from __future__ import annotations

import pytest

from tests.support.corpus_run import run
from tests.support.stack import Stack, busy_settings

pytestmark = pytest.mark.integration
MAILS = 240


@pytest.fixture
def busy_stack(tmp_path, database_url, redis_url, sink):
    settings = busy_settings(tmp_path / "home", database_url, redis_url, sink.address)
    stack = Stack(settings).start()
    yield stack
    stack.stop()


def test_a_generated_corpus_threads_every_reply_and_merges_no_stranger(busy_stack, sink, tmp_path):
    result = run(busy_stack, sink, MAILS, work=tmp_path, progress=lambda _: None)
    assert result["not_250"] == 0 and result["intakes_not_filed"] == 0
    assert result["replies"] >= 30
    assert result["replies_threaded"] == result["replies"], result["threaded_by_kind"]
    joined, total = result["colleague_replies"]
    assert joined == total and total >= 6
    assert result["stranger_replies"] >= 3 and result["false_merges"] == 0
    assert result["duplicates_filed_as_duplicates"] == result["kinds"]["duplicate"]
    assert result["automatic_acknowledged"] == 0
    assert result["malformed_ticketed"][0] == result["malformed_ticketed"][1] > 0
