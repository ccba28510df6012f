"""Idempotency claims and answers written in batches (SqlIdempotency.begin_many / finish_many,
and `once`, which uses them): the same answers as one at a time, on a real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from starlette.responses import Response

from ingest.edges.webhook.idempotent import once
from ingest.edges.webhook.ports import Remembered
from workers.store.engine import session_factory
from workers.store.idempotency import SqlIdempotency
from workers.store.migrate import upgrade


def store(tmp_path) -> SqlIdempotency:
    url = f"sqlite:///{tmp_path / 'guichet.sqlite3'}"
    upgrade(url)
    return SqlIdempotency(session_factory(url), timedelta(minutes=2))


def test_a_batch_of_fresh_claims_is_claimed_whole(tmp_path):
    keys = store(tmp_path)
    assert keys.begin_many([("p", f"k{n}", "d") for n in range(5)]) == [None] * 5
    assert keys.begin("p", "k3", "d") == Remembered("d", None, b"")  # taken: in progress


def test_a_key_already_taken_in_a_batch_is_answered_alone_and_the_others_are_claimed(tmp_path):
    keys = store(tmp_path)
    assert keys.begin("p", "taken", "d1") is None
    keys.finish("p", "taken", 202, b'{"id": "first"}')

    found = keys.begin_many([("p", "new-1", "d"), ("p", "taken", "d1"), ("p", "new-2", "d")])

    assert found == [None, Remembered("d1", 202, b'{"id": "first"}'), None]
    assert keys.begin("p", "new-2", "d").status is None  # claimed by the batch


def test_the_same_key_twice_in_one_batch_is_claimed_once(tmp_path):
    keys = store(tmp_path)
    found = keys.begin_many([("p", "k", "d"), ("p", "k", "d")])
    assert found == [None, Remembered("d", None, b"")]


def test_answers_written_together_are_each_replayed(tmp_path):
    keys = store(tmp_path)
    keys.begin_many([("p", "a", "da"), ("q", "a", "db")])
    keys.finish_many([("p", "a", 202, b"for p"), ("q", "a", 409, b"for q")])
    assert keys.begin("p", "a", "da") == Remembered("da", 202, b"for p")
    assert keys.begin("q", "a", "db") == Remembered("db", 409, b"for q")


def test_concurrent_requests_with_one_key_run_once_and_the_others_see_it(tmp_path):
    keys, ran = store(tmp_path), []

    async def produce():
        ran.append(1)
        await asyncio.sleep(0.05)
        return Response(b'{"ok": true}', 202, media_type="application/json")

    async def main():
        fresh = [once(keys, "p", f"key-{n}", b"body %d" % n, produce) for n in range(10)]
        first = await asyncio.gather(*fresh)
        again = await asyncio.gather(
            *(once(keys, "p", f"key-{n}", b"body %d" % n, produce) for n in range(10))
        )
        return first, again

    first, again = asyncio.run(main())
    assert len(ran) == 10  # each key's request ran once
    assert [r.status_code for r in first] == [202] * 10
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in again)
    assert [bytes(r.body) for r in again] == [b'{"ok": true}'] * 10
