"""The worker's Redis consumer: with every prefetched message in hand it waits for an ack,
not for a back-off growing to the idle timeout (which left a busy worker's threads idle)."""

from __future__ import annotations

import threading

import dramatiq
import pytest
from dramatiq.brokers import redis as dramatiq_redis

from ingest.queueing import redis_broker
from workers.consumer import PromptRedisBroker


@pytest.fixture
def broker(redis_url):
    broker = redis_broker(redis_url, PromptRedisBroker)
    broker.declare_queue("q")
    yield broker
    broker.close()


def _send(broker, n: int) -> None:
    for i in range(n):
        broker.enqueue(dramatiq.Message("q", "noop", (i,), {}, {}))


def test_a_full_hand_waits_for_an_ack_without_sleeping(broker, monkeypatch):
    # prefetch 1: a hand of one is full until its ack
    sleeps: list[float] = []
    monkeypatch.setattr(dramatiq_redis.time, "sleep", sleeps.append)
    _send(broker, 3)
    consumer = broker.consume("q", prefetch=1, timeout=60_000)
    first = next(consumer)
    assert tuple(first.args) == (0,)
    acked = threading.Timer(0.05, consumer.ack, args=(first,))
    acked.start()
    assert next(consumer) is None  # woke by the ack: no message, no back-off sleep
    acked.join()
    second = next(consumer)
    assert tuple(second.args) == (1,)
    assert sleeps == []  # the queue was never empty: Dramatiq's back-off never ran


def test_an_empty_queue_still_backs_off(broker, monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(dramatiq_redis.time, "sleep", sleeps.append)
    consumer = broker.consume("q", prefetch=4, timeout=1_000)
    assert [next(consumer) for _ in range(6)] == [None] * 6
    assert len(sleeps) == 6 and sleeps[-1] > sleeps[0]  # growing, up to the idle timeout
    assert max(sleeps) <= 1.0


def test_the_hand_is_refilled_in_one_fetch_once_half_of_it_is_done(broker, monkeypatch):
    fetches: list[int] = []
    real = broker.do_fetch
    monkeypatch.setattr(broker, "do_fetch", lambda q, n: fetches.append(n) or real(q, n))
    _send(broker, 12)
    consumer = broker.consume("q", prefetch=4, timeout=60_000)
    hand = [next(consumer) for _ in range(4)]
    assert fetches == [4]
    for message in hand[:2]:
        consumer.ack(message)  # half done: the next call refills the two free places at once
    more = [next(consumer) for _ in range(2)]
    assert [tuple(m.args) for m in more] == [(4,), (5,)]
    assert fetches == [4, 2]


def test_an_empty_delay_queue_is_looked_at_five_times_less_often(broker, monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(dramatiq_redis.time, "sleep", sleeps.append)
    consumer = broker.consume("q.DQ", prefetch=4, timeout=1_000)
    assert [next(consumer) for _ in range(12)] == [None] * 12
    assert 1.0 < max(sleeps) <= 5.0  # the idle poll times DELAY_QUEUE_POLL_FACTOR
