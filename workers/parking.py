"""Parking: what exhausted its retries is kept with its reason, listed and replayable — never dropped."""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.middleware import Middleware
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from workers import metrics
from workers.store.schema import ParkedRow, utcnow

log = logging.getLogger("guichet.parking")


class Parking(Middleware):
    """When the worker rejects a failed message (Retries gave up), record it in the store first.

    Dramatiq keeps rejected messages in its dead-letter set for a week; the store keeps them
    until someone replays them."""

    def __init__(self, sessions: sessionmaker):
        self.sessions = sessions

    def before_nack(self, broker, message):
        reason = _reason(message)
        with self.sessions.begin() as session:
            session.add(
                ParkedRow(
                    actor=message.actor_name,
                    queue=message.queue_name,
                    args=list(message.args),
                    message_id=message.message_id,
                    reason=reason[:4000],
                )
            )
        metrics.parked(message.actor_name)
        log.error(
            "message parked",
            extra={"actor": message.actor_name, "message_id": message.message_id, "reason": reason},
        )


def _reason(message) -> str:
    exception = getattr(message, "_exception", None)  # set by the worker on failure
    if exception is not None:
        return f"{type(exception).__name__}: {exception}"
    lines = (message.options.get("traceback") or "unknown failure").strip().splitlines()
    return lines[-1]


def parked(sessions: sessionmaker, include_replayed: bool = False) -> list[ParkedRow]:
    with sessions() as session:
        query = select(ParkedRow).order_by(ParkedRow.id)
        if not include_replayed:
            query = query.where(ParkedRow.status == "parked")
        return list(session.scalars(query))


def replay(sessions: sessionmaker, broker: dramatiq.Broker, parked_id: int) -> ParkedRow:
    """Enqueue the message again with fresh retries; the row is kept, marked replayed."""
    with sessions.begin() as session:
        row = session.get(ParkedRow, parked_id)
        if row is None:
            raise LookupError(f"no parked message #{parked_id}")
        if row.status != "parked":
            raise LookupError(
                f"parked message #{parked_id} was already replayed at {row.replayed_at}"
            )
        queue = row.queue.removesuffix(".DQ").removesuffix(".XQ")
        broker.enqueue(
            dramatiq.Message(
                queue_name=queue, actor_name=row.actor, args=tuple(row.args), kwargs={}, options={}
            )
        )
        row.status, row.replayed_at = "replayed", utcnow()
        return row
