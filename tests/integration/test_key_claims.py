"""Idempotency keys committed with the intake they bring (SqlJournal with a KeyClaim), on SQLite
and PostgreSQL: the first request with a key is stored, any other gets the first's answer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import func, select

from ingest.analysis import Analysis, Envelope, review_decision
from ingest.idempotency_keys import KeyClaim, Remembered
from workers.store.engine import session_factory
from workers.store.journal import SqlJournal
from workers.store.migrate import upgrade
from workers.store.schema import IntakeRow
from workers.store.schema_webhooks import IdempotencyRow

ENVELOPE = Envelope("webhook", "p@partners.guichet.invalid", [], datetime.now(UTC), "::1", "p")


def _analysis() -> Analysis:
    return Analysis(review_decision(ENVELOPE, "test"), "key")


def item(n: int, key: str, digest: str = "d") -> tuple:
    intake_id = f"{n:032x}"
    claim = KeyClaim("p", key, digest, 202, f'{{"intake_id": "{intake_id}"}}'.encode())
    return (intake_id, ENVELOPE, b"raw %d" % n, _analysis(), claim)


def journal(url: str) -> tuple[SqlJournal, object]:
    upgrade(url)
    sessions = session_factory(url)
    return SqlJournal(sessions), sessions


def stored(sessions) -> list[str]:
    with sessions() as session:
        return sorted(session.scalars(select(IntakeRow.id)))


def keys(sessions) -> int:
    with sessions() as session:
        return session.scalar(select(func.count()).select_from(IdempotencyRow))


def test_fresh_keys_are_recorded_with_their_intakes_in_one_batch(database_url):
    records, sessions = journal(database_url)
    outcomes = records.record_many([item(n, f"k{n}") for n in range(4)])
    assert outcomes == [None] * 4
    assert stored(sessions) == [f"{n:032x}" for n in range(4)]
    assert keys(sessions) == 4


def test_a_key_recorded_earlier_stores_nothing_and_gets_the_first_answer(database_url):
    records, sessions = journal(database_url)
    assert records.record(*item(1, "k")) is None
    outcomes = records.record_many([item(2, "other"), item(3, "k"), item(4, "k", "changed")])
    first = b'{"intake_id": "%s"}' % f"{1:032x}".encode()
    assert outcomes == [None, Remembered("d", 202, first), Remembered("d", 202, first)]
    assert stored(sessions) == [f"{1:032x}", f"{2:032x}"]  # neither retry was stored


def test_one_key_twice_in_a_batch_stores_the_first_only(database_url):
    records, sessions = journal(database_url)
    outcomes = records.record_many([item(1, "k"), item(2, "k")])
    assert outcomes[0] is None
    assert outcomes[1] == Remembered("d", 202, b'{"intake_id": "%s"}' % f"{1:032x}".encode())
    assert stored(sessions) == [f"{1:032x}"]


def test_a_key_of_another_partner_is_another_key(database_url):
    records, sessions = journal(database_url)
    mine, theirs = item(1, "k"), item(2, "k")
    theirs = (*theirs[:4], KeyClaim("q", "k", "d", 202, b"for q"))
    assert records.record_many([mine, theirs]) == [None, None]
    assert len(stored(sessions)) == 2


def test_a_request_that_cannot_be_stored_leaves_its_key_free_for_the_retry(database_url):
    records, sessions = journal(database_url)
    records.record(*item(1, "first"))
    (error,) = records.record_many([item(1, "k")])  # the same intake id again: refused
    assert isinstance(error, Exception)
    assert keys(sessions) == 1  # the refused request's key went with its transaction
    assert records.record(*item(2, "k")) is None


def test_concurrent_deliveries_of_one_key_store_one_intake(database_url):
    upgrade(database_url)
    journals = [SqlJournal(session_factory(database_url)) for _ in range(2)]
    start, outcomes = threading.Barrier(8), [None] * 8

    def deliver(n: int) -> None:
        start.wait()
        outcomes[n] = journals[n % 2].record(*item(n, "k"))

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [n for n, found in enumerate(outcomes) if found is None]
    assert len(winners) == 1
    answer = b'{"intake_id": "%s"}' % f"{winners[0]:032x}".encode()
    assert all(found == Remembered("d", 202, answer) for found in outcomes if found is not None)
    assert stored(session_factory(database_url)) == [f"{winners[0]:032x}"]
