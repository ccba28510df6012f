"""Saved versions of the acknowledgement templates: each one the whole overlay over the shipped files."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workers.store.schema_admin import TemplateVersionRow


def latest_id(session: Session) -> int:
    """The live version's number, 0 when no admin ever saved: the cheap check every process polls."""
    return session.scalar(select(func.max(TemplateVersionRow.id))) or 0


def latest(session: Session) -> TemplateVersionRow | None:
    return session.scalar(
        select(TemplateVersionRow).order_by(TemplateVersionRow.id.desc()).limit(1)
    )


def get(session: Session, version_id: int) -> TemplateVersionRow | None:
    return session.get(TemplateVersionRow, version_id)


def live_at(session: Session, moment: datetime) -> TemplateVersionRow | None:
    """The version that was live at `moment` (the newest saved before it)."""
    query = (
        select(TemplateVersionRow)
        .where(TemplateVersionRow.at <= moment)
        .order_by(TemplateVersionRow.id.desc())
        .limit(1)
    )
    return session.scalar(query)


def history(session: Session, template: str, limit: int = 50) -> list[TemplateVersionRow]:
    query = (
        select(TemplateVersionRow)
        .where(TemplateVersionRow.template == template)
        .order_by(TemplateVersionRow.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def last_changes(session: Session) -> dict[str, TemplateVersionRow]:
    """The newest version of each template that has one."""
    newest = (
        select(func.max(TemplateVersionRow.id))
        .group_by(TemplateVersionRow.template)
        .scalar_subquery()
    )
    rows = session.scalars(select(TemplateVersionRow).where(TemplateVersionRow.id.in_(newest)))
    return {row.template: row for row in rows}


def add(session: Session, **fields) -> TemplateVersionRow:
    row = TemplateVersionRow(**fields)
    session.add(row)
    session.flush()
    return row
