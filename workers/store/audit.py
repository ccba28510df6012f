"""The audit log: who changed what and when (templates, rollbacks, retries, test mails, accounts)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from workers.store.schema_admin import AuditRow


def record(session: Session, actor: str, action: str, target: str = "", **detail) -> AuditRow:
    """Add one entry, in the caller's transaction: the change and its trace commit together."""
    row = AuditRow(actor=actor, action=action, target=target, detail=detail)
    session.add(row)
    return row


def recent(session: Session, limit: int = 100, target: str | None = None) -> list[AuditRow]:
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if target is not None:
        query = query.where(AuditRow.target == target)
    return list(session.scalars(query))
