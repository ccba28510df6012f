"""`plain` gives what `dataclasses.asdict` gives, for every decision and content we make."""

from __future__ import annotations

import collections
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.analysis import Analyser, Envelope, Rules
from ingest.model import Finding, plain
from tests.unit.intake_fixtures import demo_directory

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
MAILS = sorted(CORPUS.glob("*.eml"))
ENVELOPE = Envelope(
    "smtp", "x@example.org", ["support@dri.example"], datetime(2026, 12, 7, 3, 0, tzinfo=UTC), "::1"
)


@pytest.fixture(scope="module")
def analyses():
    analyser = Analyser(demo_directory(), Rules(urgent_addresses=("urgent@dri.example",)))
    return [analyser.mail(path.read_bytes(), ENVELOPE) for path in MAILS]


def test_every_corpus_decision_and_content_converts_as_asdict_does(analyses):
    assert len(analyses) > 150
    for analysis in analyses:
        assert plain(analysis.decision) == asdict(analysis.decision)
        assert list(plain(analysis.decision)) == list(asdict(analysis.decision))  # field order
        assert plain(analysis.content) == asdict(analysis.content)


Pair = collections.namedtuple("Pair", "a b")


def test_values_of_every_shape_a_finding_may_hold():
    for value in (
        None,
        True,
        3,
        2.5,
        "texte",
        datetime(2026, 12, 7, tzinfo=UTC),
        ["a", ("b", 1)],
        ("x", ["y"]),
        {"k": [1, {"z": (2,)}]},
        Pair(1, [2]),
        {"set"},
        Finding("r", "f", Finding("inner", "g", [1], "w"), "why"),
    ):
        finding = Finding("rule", "field", value, "why")
        assert plain(finding) == asdict(finding)
        assert type(plain(finding)["value"]) is type(asdict(finding)["value"])


def test_what_it_returns_shares_nothing_mutable_with_the_original():
    finding = Finding("rule", "field", {"list": [1]}, "why")
    converted = plain(finding)
    converted["value"]["list"].append(2)
    assert finding.value == {"list": [1]}
