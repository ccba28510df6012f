"""The first intake filed with a given content key claims it; copies find the claim.

A key with no id in it (a mail without Message-ID, a partner request without its own
reference) is content alone: the same monitoring alert next week is not a copy of this
week's. Such a claim holds for `duplicate_window_hours` (config/settings.toml, default 24 h);
an older one is retired (its message keeps a key of its own) and the new intake claims the key.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from workers.store.row_writes import unless_taken
from workers.store.schema import DedupClaimRow, IntakeRow, MessageRow, utcnow

# Core statements on the hot path (claim, holder, expiry): these rows are never loaded as
# objects, and the ORM's statement machinery cost more than the statements. The rare
# retirement stays in the ORM, which keeps a loaded message in step.
CLAIMS, INTAKES = DedupClaimRow.__table__, IntakeRow.__table__


_INSERTS = unless_taken(CLAIMS, CLAIMS.c.intake_id)  # built once, outside the write turn


def _insert(session: Session, intake: IntakeRow) -> str | None:
    """Insert-or-find: the intake id holding the claim on this intake's key."""
    connection = session.connection()
    inserted = connection.execute(
        _INSERTS[connection.dialect.name],
        {"dedup_key": intake.dedup_key, "intake_id": intake.id, "claimed_at": utcnow()},
    ).scalar()
    return intake.id if inserted is not None else holder(session, intake)  # the row says who


def holder(session: Session, intake: IntakeRow) -> str | None:
    return session.scalar(select(CLAIMS.c.intake_id).where(CLAIMS.c.dedup_key == intake.dedup_key))


def expired(session: Session, intake: IntakeRow, window: timedelta | None) -> bool:
    """The claim on this id-less key was made by a request received more than the window
    before this one (both times from the same clock: the edge's): this intake is not a copy."""
    if window is None or intake.message_id:
        return False
    first = session.scalar(
        select(INTAKES.c.received_at)
        .join(CLAIMS, CLAIMS.c.intake_id == INTAKES.c.id)
        .where(CLAIMS.c.dedup_key == intake.dedup_key)
    )
    return first is not None and first < intake.received_at - window


def _retire(session: Session, intake: IntakeRow, old: str) -> None:
    """The old claim gives up the key; its message keeps one derived from its own intake id."""
    gone = session.execute(
        delete(DedupClaimRow).where(
            DedupClaimRow.dedup_key == intake.dedup_key, DedupClaimRow.intake_id == old
        )
    )
    if gone.rowcount == 1:
        own = hashlib.sha256(f"{intake.dedup_key}\0{old}".encode()).hexdigest()
        session.execute(update(MessageRow).where(MessageRow.intake_id == old).values(dedup_key=own))


def claim(session: Session, intake: IntakeRow, window: timedelta | None = None) -> str | None:
    """None when this intake is the first to file its content (within the window), else the
    intake id of the one that was. A copy filed at the same moment waits for the first one's
    transaction and then finds it, with no error and no retry."""
    winner = _insert(session, intake)
    if winner != intake.id and expired(session, intake, window):
        _retire(session, intake, winner)
        winner = _insert(session, intake)
    return None if winner == intake.id else winner
