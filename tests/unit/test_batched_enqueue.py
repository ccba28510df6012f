"""Intakes enqueued a batch at a time (`enqueue_intakes`, `WakingRedisBroker.enqueue_many`), on a
real Redis: one round trip for the batch, each message on its queue as `enqueue` puts it there
(a worker's consumer takes it), the urgent queue's wake token dropped, and every failure told
per intake."""

from __future__ import annotations

import dramatiq
import pytest
import redis

from ingest.queueing import (
    CREATE_TICKET,
    CREATE_URGENT_TICKET,
    ROUTINE_QUEUE,
    URGENT_QUEUE,
    enqueue_intakes,
    redis_broker,
    wake_key,
)

BATCH = [("a" * 32, ROUTINE_QUEUE), ("b" * 32, URGENT_QUEUE), ("c" * 32, ROUTINE_QUEUE)]


@pytest.fixture
def broker(redis_url):
    broker = redis_broker(redis_url)
    for queue in (ROUTINE_QUEUE, URGENT_QUEUE):
        broker.declare_queue(queue)
    yield broker
    broker.close()


@pytest.fixture
def sends(monkeypatch) -> list[int]:
    """One entry per write of commands to Redis (a pipeline's commands go in one)."""
    counted: list[int] = []
    real = redis.connection.AbstractConnection.send_packed_command

    def send(self, command, check_health=True):
        counted.append(1)
        return real(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", send)
    return counted


def _taken(broker, queue: str, count: int) -> list[dramatiq.Message]:
    consumer = broker.consume(queue, prefetch=count, timeout=200)
    taken = []
    for message in consumer:
        if message is None:
            break
        taken.append(message)
        consumer.ack(message)
        if len(taken) == count:
            break
    consumer.close()
    return taken


def test_a_batch_goes_in_one_round_trip_and_each_intake_reaches_its_queue(broker, sends):
    broker._max_unpack_size()  # asked of Redis once per process, before any batch
    broker.client.script_load(broker.scripts["dispatch"].script)  # Redis holds the script
    sends.clear()
    assert enqueue_intakes(broker, BATCH) == [None, None, None]
    assert len(sends) == 1
    routine = _taken(broker, ROUTINE_QUEUE, 2)
    assert [(m.actor_name, tuple(m.args)) for m in routine] == [
        (CREATE_TICKET, ("a" * 32,)),
        (CREATE_TICKET, ("c" * 32,)),
    ]
    (urgent,) = _taken(broker, URGENT_QUEUE, 1)
    assert (urgent.actor_name, tuple(urgent.args)) == (CREATE_URGENT_TICKET, ("b" * 32,))
    assert broker.client.llen(wake_key(broker.namespace, URGENT_QUEUE)) == 1
    assert broker.client.llen(wake_key(broker.namespace, ROUTINE_QUEUE)) == 0


def test_a_redis_that_lost_the_script_still_takes_the_batch(broker):
    broker.client.script_flush()  # as after a restart of Redis
    assert enqueue_intakes(broker, BATCH) == [None, None, None]
    assert len(_taken(broker, ROUTINE_QUEUE, 2)) == 2
    assert len(_taken(broker, URGENT_QUEUE, 1)) == 1


def test_a_redis_out_of_reach_fails_every_intake_of_the_batch():
    broker = redis_broker("redis://127.0.0.1:1")  # nothing listens there
    outcomes = enqueue_intakes(broker, BATCH)
    assert len(outcomes) == 3
    assert all(isinstance(error, redis.ConnectionError) for error in outcomes)


def test_one_intake_goes_as_dramatiq_enqueues_it(broker, sends):
    assert enqueue_intakes(broker, BATCH[:1]) == [None]
    (message,) = _taken(broker, ROUTINE_QUEUE, 1)
    assert tuple(message.args) == ("a" * 32,)


class _Broker(dramatiq.brokers.stub.StubBroker):
    """A broker without `enqueue_many` that refuses its second message."""

    def enqueue(self, message, *, delay=None):
        self.sent = getattr(self, "sent", 0) + 1
        if self.sent == 2:
            raise dramatiq.errors.ConnectionError("down")
        return super().enqueue(message, delay=delay)


def test_a_broker_without_batches_is_told_one_by_one_and_not_tried_again_once_down():
    broker = _Broker()
    for queue in (ROUTINE_QUEUE, URGENT_QUEUE):
        broker.declare_queue(queue)
    outcomes = enqueue_intakes(broker, BATCH)
    assert outcomes[0] is None
    assert isinstance(outcomes[1], dramatiq.errors.ConnectionError)
    assert outcomes[2] is outcomes[1]
    assert broker.sent == 2  # the third was not tried: it would wait for the same failure


def test_a_batch_that_cannot_be_prepared_fails_each_intake_instead_of_raising(broker, monkeypatch):
    """Stored, not queued: each intake is told ("queue" at the edge, the sweeper enqueues it
    later), rather than the whole batch failing as not stored."""

    def refuse(*_args):
        raise ValueError("a middleware refused the message")

    monkeypatch.setattr(broker, "emit_before", refuse)
    outcomes = enqueue_intakes(broker, BATCH)
    assert [type(error) for error in outcomes] == [ValueError] * 3
