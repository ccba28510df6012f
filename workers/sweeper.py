"""The sweeper: re-enqueue what was committed but never reached its next step, so losing Redis loses nothing."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import dramatiq
from sqlalchemy import select

from ingest.queueing import enqueue_intake
from workers.runtime import Runtime
from workers.store.journal import SqlJournal
from workers.store.schema import AckRow

log = logging.getLogger("guichet.sweeper")


def sweep_once(rt: Runtime, broker: dramatiq.Broker) -> int:
    """Re-enqueue orphan intakes and acknowledgements left pending; returns how many."""
    grace = timedelta(seconds=rt.settings.sweep_grace)
    journal = SqlJournal(rt.sessions)
    orphans = journal.orphans(grace)
    for intake_id, queue in orphans:
        enqueue_intake(broker, intake_id, queue)
    if orphans:
        journal.touch([i for i, _ in orphans])
        log.info("re-enqueued orphan intakes", extra={"count": len(orphans)})
    return len(orphans) + _pending_acks(rt, grace)


def _pending_acks(rt: Runtime, grace: timedelta) -> int:
    from workers.actors import send_ack

    cutoff = datetime.now(UTC) - grace
    with rt.sessions() as session:
        ids = session.scalars(
            select(AckRow.id)
            .where(AckRow.status == "pending", AckRow.created_at < cutoff)
            .limit(500)
        ).all()
    for ack_id in ids:
        send_ack.send(ack_id)
    return len(ids)


class Sweeper(threading.Thread):
    """Runs `sweep_once` every interval until stopped; errors are logged, never fatal."""

    def __init__(self, rt: Runtime, broker: dramatiq.Broker):
        super().__init__(name="guichet-sweeper", daemon=True)
        self.rt, self.broker, self.stopping = rt, broker, threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self.rt.settings.sweep_interval):
            try:
                sweep_once(self.rt, self.broker)
            except Exception as exc:
                log.warning("sweep failed: %s", exc)

    def stop(self) -> None:
        self.stopping.set()
