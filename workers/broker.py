"""The Dramatiq broker on Redis, its queues, and the middleware every actor shares."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from sqlalchemy.orm import sessionmaker

from ingest import log_context
from ingest.queueing import ROUTINE_QUEUE, URGENT_QUEUE, redis_broker
from workers.consumer import PromptRedisBroker
from workers.log_ids import of_message
from workers.metrics import MessageMetrics
from workers.parking import Parking

log = logging.getLogger("guichet.worker")
PAGES_QUEUE = "pages"
ACKS_QUEUE = "acks"


class LogContext(Middleware):
    """Every log line an actor writes — and Dramatiq's own about it — carries the ids of the
    request it works for (intake, ticket; `workers.log_ids`) until the message is done."""

    def __init__(self, sessions: sessionmaker | None = None):
        self.sessions = sessions

    def before_process_message(self, broker, message):
        log_context.clear()
        if self.sessions is not None:
            log_context.bind(**of_message(self.sessions, message.actor_name, message.args))
        log.debug(
            "processing",
            extra={
                "message_id": message.message_id,
                "actor": message.actor_name,
                "actor_args": list(message.args),
            },
        )

    def after_process_message(self, broker, message, *, result=None, exception=None):
        if exception is not None:
            log.warning(
                "actor failed: %s",
                exception,
                extra={
                    "message_id": message.message_id,
                    "actor": message.actor_name,
                    "actor_args": list(message.args),
                },
            )
        log_context.clear()

    def after_skip_message(self, broker, message):
        log_context.clear()


def make_broker(url: str | None, sessions: sessionmaker | None = None) -> dramatiq.Broker:
    """Redis for `url`; a StubBroker when `url` is None (unit tests of actors only).
    With `sessions`, messages that exhaust their retries are parked in the store."""
    broker = redis_broker(url, PromptRedisBroker) if url else StubBroker()
    broker.add_middleware(LogContext(sessions))
    broker.add_middleware(MessageMetrics())
    if sessions is not None:
        broker.add_middleware(Parking(sessions))
    for queue in (URGENT_QUEUE, ROUTINE_QUEUE, ACKS_QUEUE, PAGES_QUEUE):
        broker.declare_queue(queue)
    return broker


def install(broker: dramatiq.Broker, actors: Iterable[dramatiq.Actor]) -> dramatiq.Broker:
    """Make `broker` the global one and bind `actors` (e.g. `workers.actors.ALL`) to it."""
    dramatiq.set_broker(broker)
    for actor in actors:
        actor.broker = broker
        broker.declare_actor(actor)
    for queue in (URGENT_QUEUE, ROUTINE_QUEUE, ACKS_QUEUE, PAGES_QUEUE):
        broker.declare_queue(queue)
    return broker
