"""The journal's JSON columns, encoded by the parser process that analysed the request
(`ingest.stored_json`), hold the same data as when the listener encoded them itself, on SQLite
and PostgreSQL; and the worker reads the request back from them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from ingest.analysis import Analyser, Analysis, Envelope, Rules, adjusted, for_the_listener
from ingest.model import Finding, content_to_dict
from ingest.stored_json import JSONText, json_column_text
from tests.unit.intake_fixtures import demo_directory
from workers.store.engine import session_factory
from workers.store.journal import SqlJournal, intake_content
from workers.store.migrate import upgrade
from workers.store.schema import IntakeRow

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ENVELOPE = Envelope(
    "smtp", "client@example.org", ["support@dri.example"], datetime(2026, 12, 7, 9, tzinfo=UTC)
)
# A NUL in the text: the content cannot be stored (PostgreSQL refuses it), the decision can.
WITH_NUL = (
    b"From: a@example.org\r\nSubject: x\r\n\r\nClient 20481, a\x00b, le site est en panne\r\n"
)


def _mails() -> list[bytes]:
    return [path.read_bytes() for path in sorted(CORPUS.glob("*.eml"))[:12]] + [WITH_NUL]


def _analyse(raw: bytes) -> Analysis:
    analyser = Analyser(demo_directory(), Rules(urgent_addresses=("urgent@dri.example",)))
    return analyser.mail(raw, ENVELOPE)


def _rows(url: str, encoded: bool) -> list[tuple]:
    """Every mail recorded by the journal, analysed here (`encoded`: as a parser process hands
    it back); the columns read back, and the request the worker reads from them."""
    upgrade(url)
    sessions = session_factory(url)
    journal = SqlJournal(sessions)
    items = []
    for n, raw in enumerate(_mails()):
        analysis = _analyse(raw)
        intake_id = f"{int(encoded)}{n:031x}"
        items.append(
            (intake_id, ENVELOPE, raw, for_the_listener(analysis) if encoded else analysis)
        )
    assert journal.record_many(items) == [None] * len(items)
    with sessions() as session:
        ids = [item[0] for item in items]
        rows = session.scalars(
            select(IntakeRow).where(IntakeRow.id.in_(ids)).order_by(IntakeRow.id)
        )
        return [(row.decision, row.content, intake_content(row)) for row in rows]


def test_the_columns_a_parser_encoded_hold_what_the_listener_would_have_stored(database_url):
    encoded = _rows(database_url, encoded=True)
    assert encoded == _rows(database_url, encoded=False)
    for n, raw in enumerate(_mails()):
        analysis = _analyse(raw)
        decision, content, read_back = encoded[n]
        assert decision == json.loads(json.dumps(analysis.decision.to_dict()))
        if b"\x00" in raw:
            assert content is None  # the worker reads this one from the raw bytes
        else:
            assert content == json.loads(json.dumps(content_to_dict(analysis.content)))
        assert read_back == analysis.content


def test_the_listener_gets_text_not_the_content_objects():
    analysis = for_the_listener(_analyse(_mails()[0]))
    assert analysis.content is None
    assert isinstance(analysis.stored.decision, JSONText)
    assert isinstance(analysis.stored.content, JSONText)
    assert (
        json.loads(analysis.stored.decision)["urgency"]
        == json.loads(json.dumps(analysis.decision.to_dict()))["urgency"]
    )


def _quiet(analysis: Analysis) -> None:
    analysis.decision.suppression.acknowledge = False
    analysis.decision.suppression.skip_reason = "replayed-archive"
    analysis.decision.trail.append(Finding("replay", "acknowledge", False, "replayed"))


@pytest.mark.parametrize("in_a_parser", [True, False])
def test_a_decision_changed_after_the_analysis_is_stored_as_changed(in_a_parser):
    """Replay changes the decision after a parser process encoded it: `adjusted` encodes it
    again, and the content's JSON stays as the parser made it."""
    analysis = _analyse(_mails()[0])
    analysis = for_the_listener(analysis) if in_a_parser else analysis
    content = analysis.stored.content if in_a_parser else None
    back = adjusted(analysis, _quiet)
    stored = back.stored.decision if in_a_parser else json.dumps(back.decision.to_dict())
    decision = json.loads(stored)
    assert decision["suppression"] == {"acknowledge": False, "skip_reason": "replayed-archive"}
    assert decision["trail"][-1]["rule"] == "replay"
    if in_a_parser:
        assert back.stored.content is content


@pytest.mark.parametrize("value", [{"a": "é"}, [1, 2], "text", None])
def test_a_json_column_encodes_anything_else_as_before(value):
    assert json_column_text(value) == json.dumps(value)
    assert json_column_text(JSONText('{"a": "é"}')) == '{"a": "é"}'


def test_an_analysis_that_cannot_be_encoded_goes_back_as_it_is():
    analysis = _analyse(_mails()[0])
    analysis.decision.trail[0].value = {1, 2}  # a set: no JSON for it
    content = analysis.content
    back = for_the_listener(analysis)
    assert back.stored is None and back.content is content  # the journal encodes it, as before


def test_a_request_whose_decision_cannot_be_encoded_fails_alone_in_its_batch(database_url):
    upgrade(database_url)
    journal = SqlJournal(session_factory(database_url))
    bad = _analyse(_mails()[0])
    bad.decision.trail[0].value = {1, 2}  # a set: no JSON for it
    items = [(f"9{n:031x}", ENVELOPE, _mails()[n], _analyse(_mails()[n])) for n in range(3)]
    items.insert(1, ("9" + "f" * 31, ENVELOPE, _mails()[0], bad))
    outcomes = journal.record_many(items)
    assert [o is None for o in outcomes] == [True, False, True, True]
    assert isinstance(outcomes[1], TypeError)
