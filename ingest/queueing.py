"""Put intake ids on the Dramatiq queues by actor name (the edges never import the workers)."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

URGENT_QUEUE = "tickets.urgent"
ROUTINE_QUEUE = "tickets.routine"
CREATE_TICKET = "create_ticket"
# Urgent intakes go by an actor of their own with a higher priority: a worker that already
# prefetched routine messages (twice its threads, per process) takes an urgent one before
# them, since Dramatiq orders the work in hand by actor priority, then by arrival.
CREATE_URGENT_TICKET = "create_ticket_urgent"


def redis_broker(url: str, broker_class: type[RedisBroker] = RedisBroker) -> RedisBroker:
    """A Redis broker for `url` ("redis://…" or "unix:///…/redis.sock")."""
    # Short socket timeouts: an edge that cannot reach Redis must answer 451/503 quickly.
    return broker_class(url=url, socket_timeout=5, socket_connect_timeout=2)


def queue_for(urgency_level: str) -> str:
    return URGENT_QUEUE if urgency_level == "urgent" else ROUTINE_QUEUE


def enqueue_intake(broker: dramatiq.Broker, intake_id: str, queue: str) -> None:
    """Enqueue `create_ticket(intake_id)`; raises when the broker cannot take it."""
    actor = CREATE_URGENT_TICKET if queue == URGENT_QUEUE else CREATE_TICKET
    message = dramatiq.Message(
        queue_name=queue, actor_name=actor, args=(intake_id,), kwargs={}, options={}
    )
    broker.enqueue(message)
