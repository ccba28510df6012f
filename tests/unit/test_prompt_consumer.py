"""The worker's Redis consumer: with every prefetched message in hand it waits for an ack,
not for a back-off growing to the idle timeout (which left a busy worker's threads idle); on
an empty queue it waits for a wake token, and looks at the queue itself every few waits."""

from __future__ import annotations

import threading
import uuid

import dramatiq
import pytest
from dramatiq.brokers import redis as dramatiq_redis

from ingest.queueing import URGENT_QUEUE, WAKE_TOKENS, WakingRedisBroker, redis_broker, wake_key
from workers.consumer import LOOK_EVERY, PromptRedisBroker


@pytest.fixture
def broker(redis_url):
    broker = redis_broker(redis_url, PromptRedisBroker)
    broker.declare_queue("q")
    yield broker
    broker.close()


def waking(broker, kind: str) -> str:
    """A queue of its own that waits for tokens, as the urgent queue does."""
    queue = f"{kind}-{uuid.uuid4().hex}"
    broker.declare_queue(queue)
    broker.waking_queues = frozenset({queue})
    return queue


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


def _recording_blpop(broker, monkeypatch, *, instead=None) -> list:
    """Every wait's outcome (None: it ended with no token), the real one unless `instead`."""
    outcomes: list = []
    real = broker.client.blpop

    def blpop(keys, timeout=0):
        got = instead if instead is not None else real(keys, timeout=timeout)
        outcomes.append(got if got != "timeout" else None)
        return outcomes[-1]

    monkeypatch.setattr(broker.client, "blpop", blpop)
    return outcomes


def test_an_empty_queue_is_waited_on_and_a_message_due_now_wakes_it(broker, monkeypatch):
    queue = waking(broker, "wake")
    waits = _recording_blpop(broker, monkeypatch)
    consumer = broker.consume(queue, prefetch=4, timeout=60_000)  # a wait of 3 s
    assert next(consumer) is None  # looked: empty
    later = threading.Timer(0.3, broker.enqueue, [dramatiq.Message(queue, "noop", (7,), {}, {})])
    later.start()
    message = next(consumer)  # waits on the wake list; the enqueue's token ends the wait
    later.join()
    assert message is not None and tuple(message.args) == (7,)
    assert len(waits) == 1 and waits[0] == (wake_key(broker.namespace, queue).encode(), b"1")


def test_an_idle_consumer_looks_at_the_queue_itself_every_few_quiet_waits(broker, monkeypatch):
    fetches: list[int] = []
    real = broker.do_fetch
    monkeypatch.setattr(broker, "do_fetch", lambda q, n: fetches.append(n) or real(q, n))
    waits = _recording_blpop(broker, monkeypatch, instead="timeout")
    consumer = broker.consume(waking(broker, "idle"), prefetch=4, timeout=1_000)
    assert [next(consumer) for _ in range(1 + 2 * LOOK_EVERY)] == [None] * (1 + 2 * LOOK_EVERY)
    assert len(fetches) == 3  # the first look, then one every LOOK_EVERY quiet waits
    assert len(waits) == 2 * LOOK_EVERY and set(waits) == {None}


def test_a_stopping_worker_wakes_its_waiting_consumers_and_they_wait_no_more(broker, monkeypatch):
    waits = _recording_blpop(broker, monkeypatch)
    consumer = broker.consume(waking(broker, "stop"), prefetch=4, timeout=60_000)
    assert next(consumer) is None
    threading.Timer(0.3, broker.stop_waiting, [1]).start()
    assert next(consumer) is None  # woken by the stop token: looked again, still empty
    assert waits == [(broker.stop_key.encode(), b"1")]
    sleeps: list[float] = []
    monkeypatch.setattr(dramatiq_redis.time, "sleep", sleeps.append)
    assert next(consumer) is None and len(waits) == 1  # stopping: Dramatiq's short back-off
    assert sleeps and max(sleeps) <= 60


def test_a_message_due_now_leaves_a_wake_token_and_a_delayed_one_none(broker):
    queue = waking(broker, "tokens")
    key = wake_key(broker.namespace, queue)
    broker.enqueue(dramatiq.Message(queue, "noop", (1,), {}, {}))
    broker.enqueue(dramatiq.Message(queue, "noop", (2,), {}, {}), delay=60_000)
    broker.enqueue(dramatiq.Message("q", "noop", (3,), {}, {}))  # not a waking queue
    assert broker.client.llen(key) == 1
    assert broker.client.llen(wake_key(broker.namespace, "q")) == 0
    for n in range(WAKE_TOKENS + 5):
        broker.enqueue(dramatiq.Message(queue, "noop", (n,), {}, {}))
    assert broker.client.llen(key) == WAKE_TOKENS  # bounded


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


def test_only_the_urgent_queue_waits_for_tokens_the_others_poll(broker, monkeypatch):
    assert WakingRedisBroker.waking_queues == {URGENT_QUEUE}
    sleeps: list[float] = []
    monkeypatch.setattr(dramatiq_redis.time, "sleep", sleeps.append)
    waits = _recording_blpop(broker, monkeypatch, instead="timeout")
    consumer = broker.consume("q", prefetch=4, timeout=1_000)
    assert [next(consumer) for _ in range(6)] == [None] * 6
    assert waits == [] and len(sleeps) == 6 and sleeps[-1] > sleeps[0]  # Dramatiq's back-off
    assert max(sleeps) <= 1.0


def test_an_empty_delay_queue_is_looked_at_five_times_less_often(broker, monkeypatch):
    sleeps: list[float] = []
    monkeypatch.setattr(dramatiq_redis.time, "sleep", sleeps.append)
    consumer = broker.consume("q.DQ", prefetch=4, timeout=1_000)
    assert [next(consumer) for _ in range(12)] == [None] * 12
    assert 1.0 < max(sleeps) <= 5.0  # the idle poll times DELAY_QUEUE_POLL_FACTOR
