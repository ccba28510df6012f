"""Urgent intakes are queued for an actor that a worker takes before the routine work in hand."""

from __future__ import annotations

from dramatiq.brokers.stub import StubBroker
from dramatiq.message import Message
from dramatiq.worker import _WorkQueueItem

from ingest.queueing import ROUTINE_QUEUE, URGENT_QUEUE, enqueue_intake
from workers import actors


def _queued(queue: str) -> Message:
    broker = StubBroker()
    broker.declare_queue(queue)
    enqueue_intake(broker, "intake-1", queue)
    return Message.decode(broker.queues[queue].get_nowait())


def test_an_urgent_intake_goes_to_the_urgent_actor_a_routine_one_to_create_ticket():
    assert _queued(URGENT_QUEUE).actor_name == actors.create_urgent_ticket.actor_name
    assert _queued(ROUTINE_QUEUE).actor_name == actors.create_ticket.actor_name


def test_a_worker_takes_the_urgent_message_before_routine_ones_it_already_holds():
    # Dramatiq's work queue orders the messages a worker holds by actor priority, then arrival.
    routine = [
        _WorkQueueItem(actors.create_ticket.priority, _queued(ROUTINE_QUEUE)) for _ in range(16)
    ]
    urgent = _WorkQueueItem(actors.create_urgent_ticket.priority, _queued(URGENT_QUEUE))
    assert min([*routine, urgent]) is urgent
