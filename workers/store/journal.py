"""The intake journal: raw requests committed before the edge answers, and the sweeper's view of them."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import sessionmaker

from ingest.analysis import Analysis, Envelope
from workers.store.schema import EventRow, IntakeRow, utcnow


def storable(text: str | None) -> str | None:
    """Text a database column can hold: PostgreSQL refuses NUL in text, so it becomes U+FFFD.

    Only the columns change; the raw bytes are stored untouched."""
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


INTAKES, EVENTS = IntakeRow.__table__, EventRow.__table__


def intake_values(intake_id: str, envelope: Envelope, raw: bytes, analysis: Analysis) -> dict:
    """The intake row as the edge stores it, before any worker has seen it."""
    urgent = analysis.decision.urgency.level == "urgent"
    return {
        "id": intake_id,
        "channel": envelope.channel,
        "received_at": envelope.received_at,
        "envelope_sender": storable(envelope.sender),
        "recipients": [storable(r) for r in envelope.recipients],
        "client_ip": envelope.client_ip,
        "raw": raw,
        "raw_sha256": hashlib.sha256(raw).hexdigest(),
        "message_id": storable(analysis.message_id[:998]),
        "dedup_key": analysis.dedup_key,
        "partner": envelope.partner,
        "source": storable((envelope.source or "")[:200]) or None,
        "decision": analysis.decision.to_dict(),
        "queue": "tickets.urgent" if urgent else "tickets.routine",
        "status": "received",
        "error": storable(analysis.error),
    }


class SqlJournal:
    """`ingest.intake.Journal` over the store: one INSERT, one commit per request."""

    def __init__(self, sessions: sessionmaker):
        self._sessions = sessions

    def record(self, intake_id: str, envelope: Envelope, raw: bytes, analysis: Analysis) -> None:
        # Two Core inserts: the ORM's unit of work cost twice as much for rows never read back.
        with self._sessions.begin() as session:
            session.execute(insert(INTAKES), intake_values(intake_id, envelope, raw, analysis))
            session.execute(
                insert(EVENTS),
                {
                    "intake_id": intake_id,
                    "kind": "received",
                    "detail": {
                        "channel": envelope.channel,
                        "size": len(raw),
                        "source": envelope.source,
                    },
                },
            )

    def orphans(self, grace: timedelta, limit: int = 500) -> list[tuple[str, str]]:
        """(id, queue) of intakes older than `grace` that never became a ticket."""
        cutoff = datetime.now(UTC) - grace
        with self._sessions() as session:
            rows = session.execute(
                select(IntakeRow.id, IntakeRow.queue)
                .where(IntakeRow.status == "received", IntakeRow.updated_at < cutoff)
                .order_by(IntakeRow.updated_at)
                .limit(limit)
            )
            return [(r.id, r.queue or "tickets.routine") for r in rows]

    def touch(self, intake_ids: list[str]) -> None:
        """Mark intakes as re-enqueued now, so the next sweep waits another grace period."""
        with self._sessions.begin() as session:
            session.execute(
                update(IntakeRow).where(IntakeRow.id.in_(intake_ids)).values(updated_at=utcnow())
            )
