"""Put intake ids on the Dramatiq queues by actor name (the edges never import the workers), with
the broker both sides build: Dramatiq's Redis broker, which also wakes an idle worker's urgent
consumer (`WakingRedisBroker`; the consumer is `workers/consumer.py`)."""

from __future__ import annotations

import logging
from uuid import uuid4

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis

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
        try:
            self._wake_token(self.client.pipeline(transaction=False), queue).execute()
        except redis.RedisError as exc:
            log.debug("no wake token for %s: %s", queue, exc)

    def _wake_token(self, pipe: redis.client.Pipeline, queue: str) -> redis.client.Pipeline:
        key = wake_key(self.namespace, queue)
        return pipe.lpush(key, 1).ltrim(key, 0, WAKE_TOKENS - 1)

    def enqueue_many(self, messages: list[dramatiq.Message]) -> list[Exception | None]:
        """Each message enqueued now, as `enqueue` does, but all in one round trip to Redis
        (one pipeline of Dramatiq's own enqueue script, and the wake tokens): per message, the
        error that kept it off its queue, or None.

        The listener's commit thread enqueues a batch of intakes at once: one by one, each was a
        round trip and, with `appendfsync always`, a write to disk by Redis before the next. A
        message whose script Redis does not hold yet (a Redis started since) goes by `enqueue`,
        which loads it; when the pipeline cannot be sent at all, every message gets that error.
        A lone message goes by `enqueue` itself: a pipeline of one saves nothing."""
        if len(messages) < 2:
            return [self._enqueue_one(message) for message in messages]
        dispatch = self.scripts["dispatch"]
        pipe = self.client.pipeline(transaction=False)
        sent = []
        for message in messages:
            message = message.copy(options={"redis_message_id": str(uuid4())})
            self.emit_before("enqueue", message, None)
            # The arguments Dramatiq's broker gives its dispatch script for "enqueue" (should a
            # new Dramatiq change them, tests/unit/test_batched_enqueue.py's consumer fails).
            args = (
                "enqueue",
                current_millis(),
                message.queue_name,
                self.broker_id,
                self.heartbeat_timeout,
                self.dead_message_ttl,
                self._should_do_maintenance("enqueue"),
                self._max_unpack_size(),
                message.options["redis_message_id"],
                message.encode(),
            )
            pipe.evalsha(dispatch.sha, 1, self.namespace, *args)
            sent.append(message)
        for queue in sorted({m.queue_name for m in sent} & self.waking_queues):
            self._wake_token(pipe, queue)
        try:
            replies = pipe.execute(raise_on_error=False)
        except redis.RedisError as exc:
            return [exc] * len(messages)
        outcomes: list[Exception | None] = []
        # The wake tokens' replies come after the messages': not zipped.
        for original, message, reply in zip(messages, sent, replies, strict=False):
            if isinstance(reply, redis.exceptions.NoScriptError):
                outcomes.append(self._enqueue_one(original))
            elif isinstance(reply, Exception):
                outcomes.append(reply)
            else:
                self.emit_after("enqueue", message, None)
                outcomes.append(None)
        return outcomes

    def _enqueue_one(self, message: dramatiq.Message) -> Exception | None:
        try:
            self.enqueue(message)
        except Exception as exc:
            return exc
        return None


def redis_broker(url: str, broker_class: type[RedisBroker] = WakingRedisBroker) -> RedisBroker:
    """A Redis broker for `url` ("redis://…" or "unix:///…/redis.sock")."""
    # Short socket timeouts: an edge that cannot reach Redis must answer 451/503 quickly.
    return broker_class(url=url, socket_timeout=5, socket_connect_timeout=2)


def queue_for(urgency_level: str) -> str:
    return URGENT_QUEUE if urgency_level == "urgent" else ROUTINE_QUEUE


def intake_message(intake_id: str, queue: str) -> dramatiq.Message:
    """The message that has a worker run `create_ticket(intake_id)`."""
    actor = CREATE_URGENT_TICKET if queue == URGENT_QUEUE else CREATE_TICKET
    return dramatiq.Message(
        queue_name=queue, actor_name=actor, args=(intake_id,), kwargs={}, options={}
    )


def enqueue_intake(broker: dramatiq.Broker, intake_id: str, queue: str) -> None:
    """Enqueue `create_ticket(intake_id)`; raises when the broker cannot take it."""
    broker.enqueue(intake_message(intake_id, queue))


def enqueue_intakes(broker: dramatiq.Broker, intakes: list[tuple[str, str]]) -> list:
    """Enqueue `create_ticket` for each (intake id, queue): per intake, the error that kept it
    off its queue, or None. In one round trip when the broker can (`enqueue_many`); otherwise
    one by one, and after a broker error the rest are not tried (each would wait for the same
    timeout) but get that error."""
    messages = [intake_message(intake_id, queue) for intake_id, queue in intakes]
    enqueue_many = getattr(broker, "enqueue_many", None)
    if enqueue_many is not None:
        try:
            return enqueue_many(messages)
        except Exception as exc:  # a middleware, a message that cannot be encoded: none queued
            return [exc] * len(messages)
    outcomes: list[Exception | None] = []
    for message in messages:
        if outcomes and outcomes[-1] is not None:
            outcomes.append(outcomes[-1])
            continue
        try:
            broker.enqueue(message)
        except Exception as exc:
            outcomes.append(exc)
        else:
            outcomes.append(None)
    return outcomes
