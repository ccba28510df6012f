"""The intake's commit thread: requests waiting together are committed and queued together, each
answered with its own outcome, and a failure stays with the request it belongs to."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from dramatiq.brokers.stub import StubBroker

from ingest.analysis import Analysis, Envelope, review_decision
from ingest.commit_thread import CommitThread
from ingest.intake import Accepted, Intake
from workers.store.engine import session_factory
from workers.store.journal import SqlJournal
from workers.store.migrate import upgrade
from workers.store.schema import IntakeRow

ENVELOPE = Envelope(
    "smtp", "a@example.org", ["support@dri.example"], datetime(2026, 12, 1, 9, tzinfo=UTC)
)


def test_jobs_that_wait_while_a_batch_is_in_hand_go_together_in_the_next_one():
    started, release, batches = threading.Event(), threading.Event(), []

    def work(jobs):
        batches.append(list(jobs))
        if len(batches) == 1:
            started.set()
            release.wait(10)
        return [job * 10 for job in jobs]

    committer = CommitThread(work, failed=-1, name="test-commit")

    async def main():
        first = asyncio.create_task(committer.run(1))
        await asyncio.to_thread(started.wait, 10)  # the thread is busy with job 1
        others = [asyncio.create_task(committer.run(n)) for n in range(2, 7)]
        await asyncio.sleep(0.05)  # all five are waiting
        release.set()
        return await first, await asyncio.gather(*others)

    assert asyncio.run(main()) == (10, [20, 30, 40, 50, 60])
    assert batches == [[1], [2, 3, 4, 5, 6]]


def test_a_batch_whose_work_raises_gives_every_job_the_failed_outcome():
    def work(jobs):
        raise OSError("disk gone")

    committer = CommitThread(work, failed="journal", name="test-commit")

    async def main():
        return await asyncio.gather(*(committer.run(n) for n in range(3)))

    assert asyncio.run(main()) == ["journal"] * 3


def test_a_caller_that_stops_waiting_does_not_undo_its_job_and_the_thread_goes_on():
    done, release = [], threading.Event()

    def work(jobs):
        release.wait(10)
        done.extend(jobs)
        return jobs

    committer = CommitThread(work, failed=None, name="test-commit")

    async def gone():
        task = asyncio.create_task(committer.run("gone"))
        await asyncio.sleep(0.05)
        task.cancel()
        release.set()

    asyncio.run(gone())
    assert asyncio.run(committer.run("next")) == "next"  # another event loop, the same thread
    assert done[:2] == ["gone", "next"]


def _analysis() -> Analysis:
    return Analysis(review_decision(ENVELOPE, "test"), "key")


def test_one_request_the_database_refuses_fails_alone_in_its_batch(tmp_path):
    url = f"sqlite:///{tmp_path / 'guichet.sqlite3'}"
    upgrade(url)
    sessions = session_factory(url)
    journal = SqlJournal(sessions)
    items = [(f"{n:032x}", ENVELOPE, b"raw %d" % n, _analysis()) for n in range(4)]
    items.insert(2, items[1])  # the same intake id twice: the second breaks the batch

    errors = journal.record_many(items)

    assert [e is None for e in errors] == [True, True, False, True, True]
    with sessions() as session:
        stored = sorted(row.id for row in session.query(IntakeRow))
    assert stored == [f"{n:032x}" for n in range(4)]


class FlakyBroker(StubBroker):
    """Refuses the second message it is given, as a broker that just went down."""

    def __init__(self):
        super().__init__()
        self.tried = 0
        self.declare_queue("tickets.routine")

    def enqueue(self, message, *, delay=None):
        self.tried += 1
        if self.tried == 2:
            raise ConnectionError("redis went away")
        return super().enqueue(message, delay=delay)


class Journal:
    def __init__(self):
        self.records = []

    def record(self, intake_id, envelope, raw, analysis, claim=None):
        self.records.append(intake_id)


def test_after_the_broker_fails_the_rest_of_the_batch_is_deferred_without_waiting_for_it():
    broker, journal = FlakyBroker(), Journal()
    intake = Intake(journal, broker)
    jobs = [(f"id-{n}", b"raw", ENVELOPE, _analysis(), "tickets.routine", None) for n in range(4)]

    assert intake._store_and_queue(jobs) == [None, "queue", "queue", "queue"]
    assert broker.tried == 2  # the two after the failure were not tried
    assert journal.records == [f"id-{n}" for n in range(4)]  # all stored: the sweeper has them


def test_requests_accepted_together_each_get_their_own_intake_id():
    journal, broker = Journal(), StubBroker()
    broker.declare_queue("tickets.routine")
    intake = Intake(journal, broker)

    async def analyse():
        return _analysis()

    async def main():
        return await asyncio.gather(*(intake.accept(b"raw", ENVELOPE, analyse) for _ in range(20)))

    outcomes = asyncio.run(main())
    assert all(isinstance(o, Accepted) for o in outcomes)
    assert sorted(o.intake_id for o in outcomes) == sorted(journal.records)
    assert len(set(journal.records)) == 20 and broker.queues["tickets.routine"].qsize() == 20
