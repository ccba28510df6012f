"""Messages that exhaust their retries are parked with their reason, listed and replayable."""

from __future__ import annotations

import time

import dramatiq
import pytest
from dramatiq.middleware import Retries

from workers.broker import make_broker
from workers.parking import parked, replay
from workers.store.engine import session_factory
from workers.store.migrate import upgrade

pytestmark = pytest.mark.integration


def test_a_message_that_exhausts_its_retries_is_parked_and_can_be_replayed(tmp_path, redis_url):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url)
    sessions = session_factory(url)
    broker = make_broker(redis_url, sessions)
    calls: list[str] = []

    @dramatiq.actor(
        broker=broker,
        actor_name="flaky",
        queue_name="tests.flaky",
        max_retries=1,
        min_backoff=10,
        max_backoff=20,
    )
    def flaky(value: str) -> None:
        calls.append(value)
        if len(calls) < 3:
            raise ConnectionError("relay refused the connection")

    assert any(isinstance(m, Retries) for m in broker.middleware)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        flaky.send("hello")
        deadline = time.monotonic() + 20
        while not parked(sessions) and time.monotonic() < deadline:
            time.sleep(0.1)
        [row] = parked(sessions)
        assert (row.actor, row.args, row.status) == ("flaky", ["hello"], "parked")
        assert row.reason == "ConnectionError: relay refused the connection"
        replay(sessions, broker, row.id)
        deadline = time.monotonic() + 20
        while len(calls) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert calls == ["hello", "hello", "hello"]
        assert parked(sessions) == []  # replayed and succeeded: nothing left parked
    finally:
        worker.stop()
        broker.close()
