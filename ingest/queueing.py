"""Put intake ids on the Dramatiq queues by actor name (the edges never import the workers), with
the broker both sides build: Dramatiq's Redis broker, which also wakes an idle worker's urgent
consumer (`WakingRedisBroker`; the consumer is `workers/consumer.py`)."""

from __future__ import annotations

import logging

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

log = logging.getLogger("guichet.queue")

URGENT_QUEUE = "tickets.urgent"
ROUTINE_QUEUE = "tickets.routine"
CREATE_TICKET = "create_ticket"
# Urgent intakes go by an actor of their own with a higher priority: a worker that already
# prefetched routine messages (twice its threads, per process) takes an urgent one before
# them, since Dramatiq orders the work in hand by actor priority, then by arrival.
CREATE_URGENT_TICKET = "create_ticket_urgent"


WAKE_TOKENS = 16  # kept per queue: enough to wake every consumer waiting on it
# Queues whose idle consumers wait for a token instead of polling: the urgent one, whose
# request must not wait for a worker's next poll. A routine message drops no token (that would
# cost every request one more Redis round trip) and is found at the next poll, as before.
WAKING_QUEUES = frozenset({URGENT_QUEUE})


def wake_key(namespace: str, queue: str) -> str:
    """The list an idle worker's consumer of `queue` waits on (`workers/consumer.py`)."""
    return f"{namespace}:guichet-wake:{queue}"


class WakingRedisBroker(RedisBroker):
    """Dramatiq's Redis broker, whose every message due now on a waking queue also drops a
    token on the queue's wake list: a worker's consumer waiting there on an empty queue takes
    the message at once, instead of at its next look. The token is a hint: one that cannot be
    written leaves the consumer to its next look, and the message is queued all the same."""

    waking_queues = WAKING_QUEUES

    def enqueue(self, message: dramatiq.Message, *, delay: int | None = None) -> dramatiq.Message:
        sent = super().enqueue(message, delay=delay)
        if delay is None and sent.queue_name in self.waking_queues:
            self.wake(sent.queue_name)
        return sent

    def wake(self, queue: str) -> None:
        key = wake_key(self.namespace, queue)
        try:
            self.client.pipeline(transaction=False).lpush(key, 1).ltrim(
                key, 0, WAKE_TOKENS - 1
            ).execute()
        except redis.RedisError as exc:
            log.debug("no wake token for %s: %s", queue, exc)


def redis_broker(url: str, broker_class: type[RedisBroker] = WakingRedisBroker) -> RedisBroker:
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
