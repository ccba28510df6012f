"""The funnel's answers: a request is accepted only once stored and queued; anything else is deferred."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from dramatiq.brokers.stub import StubBroker

from ingest.analysis import Analysis, Envelope, review_decision
from ingest.directory import DirectoryUnavailable
from ingest.intake import Accepted, Deferred, Intake
from workers.store.directory import SqlDirectory
from workers.store.engine import session_factory

ENVELOPE = Envelope(
    "smtp", "a@example.org", ["support@dri.example"], datetime(2026, 12, 1, 9, tzinfo=UTC)
)


class Journal:
    def __init__(self, fail: bool = False):
        self.fail, self.records = fail, []

    def record(self, intake_id, envelope, raw, analysis, claim=None):
        if self.fail:
            raise OSError("disk full")
        self.records.append(intake_id)


class DownBroker(StubBroker):
    def enqueue(self, message, *, delay=None):
        raise ConnectionError("redis is down")


def _analysis() -> Analysis:
    return Analysis(review_decision(ENVELOPE, "test"), "key")


async def _analyse():
    return _analysis()


async def _directory_down():
    raise DirectoryUnavailable("database unreachable")


def accept(journal, broker, analyse=_analyse):
    return asyncio.run(Intake(journal, broker).accept(b"raw", ENVELOPE, analyse))


def test_a_stored_and_queued_request_is_accepted_with_its_intake_id():
    journal, broker = Journal(), StubBroker()
    broker.declare_queue("tickets.routine")
    outcome = accept(journal, broker)
    assert isinstance(outcome, Accepted) and journal.records == [outcome.intake_id]
    assert broker.queues["tickets.routine"].qsize() == 1


def test_a_request_that_cannot_be_stored_is_deferred_at_the_journal():
    assert accept(Journal(fail=True), StubBroker()) == Deferred("journal")


def test_a_request_stored_but_not_queued_is_deferred_and_kept_for_the_sweeper():
    journal = Journal()
    outcome = accept(journal, DownBroker())
    assert outcome.stage == "queue" and journal.records == [outcome.intake_id]


def test_an_unreadable_directory_defers_the_request_instead_of_judging_it():
    journal = Journal()
    assert accept(journal, StubBroker(), _directory_down) == Deferred("journal")
    assert journal.records == []


def test_the_sql_directory_reports_a_database_failure_as_temporary(tmp_path):
    (tmp_path / "not-a-database").mkdir()
    directory = SqlDirectory(session_factory(f"sqlite:///{tmp_path / 'not-a-database'}"))
    with pytest.raises(DirectoryUnavailable):
        directory.account("20481")
