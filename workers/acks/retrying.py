"""An acknowledgement the relay did not take: refused for good, or tried again by one chain with back-off.

Each attempt is a `send_ack(ack_id, attempt)` message; `attempt` is the acknowledgement's
`attempts` count when the message was scheduled, and only a message whose count still matches
may claim it. A duplicate (a sweeper's copy, a redelivery) is therefore a no-op once the chain
has moved on: there is never more than one chain. The chain's next date is recorded as an
`ack-deferred` event, so the sweeper starts a new chain only when that date has long passed
(the scheduled message was lost with Redis)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.settings import Settings
from workers import metrics
from workers.acks.outbound import RelayRefused
from workers.store.schema import AckRow, EventRow, utcnow
from workers.store.tickets import event

log = logging.getLogger("guichet.ack")
DEFERRED, REFUSED, EXPIRED = "ack-deferred", "ack-refused", "ack-expired"


@dataclass(frozen=True)
class Retry:
    """Try again: `send_ack(ack_id, attempt)` in `after` seconds."""

    ack_id: int
    attempt: int
    after: float


@dataclass(frozen=True)
class Schedule:
    first: float  # seconds before the second attempt
    longest: float  # the back-off doubles up to this
    total: float  # no attempt is planned later than this after the acknowledgement was recorded

    @classmethod
    def of(cls, settings: Settings) -> Schedule:
        return cls(settings.ack_retry_first, settings.ack_retry_longest, settings.ack_retry_for)

    def delay(self, failures: int) -> float:
        return min(self.longest, self.first * 2 ** max(0, failures - 1))


def refuse(session: Session, ack_id: int, refusal: RelayRefused) -> str:
    """A permanent refusal ends it: recorded on the acknowledgement and in the ticket's trail."""
    ack = session.get(AckRow, ack_id)
    ack.status, ack.error = "refused", str(refusal)[:2000]
    metrics.ack_failed(session, "refused")
    event(
        session,
        REFUSED,
        ack.intake_id,
        ack.ticket_id,
        ack_id=ack_id,
        code=refusal.code,
        reply=refusal.reply[:500],
        stage=refusal.stage,
    )
    log.warning("acknowledgement refused by the relay: %s", refusal, extra={"ack_id": ack_id})
    return "refused"


def defer(session: Session, ack_id: int, error: str, schedule: Schedule) -> Retry | str:
    """Back to pending with the next attempt's date; past `schedule.total`, failed for good."""
    ack = session.get(AckRow, ack_id)
    now = utcnow()
    delay = schedule.delay(ack.attempts)
    due = now + timedelta(seconds=delay)
    if due - ack.created_at > timedelta(seconds=schedule.total):
        ack.status, ack.error = "failed", error[:2000]
        metrics.ack_failed(session, "expired")
        event(session, EXPIRED, ack.intake_id, ack.ticket_id, ack_id=ack_id, attempts=ack.attempts)
        log.error("acknowledgement given up: %s", error, extra={"ack_id": ack_id})
        return "expired"
    ack.status, ack.error = "pending", error[:2000]
    metrics.ack_failed(session, "deferred")
    event(
        session,
        DEFERRED,
        ack.intake_id,
        ack.ticket_id,
        ack_id=ack_id,
        attempt=ack.attempts,
        retry_at=due.isoformat(),
        error=error[:500],
    )
    log.warning(
        "acknowledgement not sent, next try in %.0f s: %s", delay, error, extra={"ack_id": ack_id}
    )
    return Retry(ack_id, ack.attempts, delay)


def chain_alive(session: Session, intake_id: str, now: datetime, grace: timedelta) -> bool:
    """True while the last deferral's next attempt is still ahead (give or take `grace`)."""
    last = session.scalar(
        select(EventRow)
        .where(EventRow.intake_id == intake_id, EventRow.kind == DEFERRED)
        .order_by(EventRow.id.desc())
        .limit(1)
    )
    if last is None:
        return False
    return now < datetime.fromisoformat(last.detail["retry_at"]) + grace
