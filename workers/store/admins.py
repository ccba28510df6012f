"""Admin accounts and their sign-in sessions in the store (hashes only: no password, no cookie token)."""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from workers.store.schema import utcnow
from workers.store.schema_admin import AdminRow, AdminSessionRow


def token_key(token: str) -> str:
    """What the store keeps of a session cookie: a leaked table signs nobody in."""
    return hashlib.sha256(token.encode()).hexdigest()


def find(session: Session, name: str) -> AdminRow | None:
    return session.scalar(select(AdminRow).where(AdminRow.name == name))


def all_admins(session: Session) -> list[AdminRow]:
    return list(session.scalars(select(AdminRow).order_by(AdminRow.name)))


def add(session: Session, name: str, password_hash: str, email: str | None) -> AdminRow:
    row = AdminRow(name=name, email=email, password_hash=password_hash, failed_logins=0)
    session.add(row)
    session.flush()
    return row


def end_sessions(session: Session, admin_id: int) -> int:
    """Sign this admin out everywhere (password changed, account removed)."""
    result = session.execute(delete(AdminSessionRow).where(AdminSessionRow.admin_id == admin_id))
    return result.rowcount or 0


def open_session(
    session: Session, admin: AdminRow, token: str, csrf: str, expires_at: datetime
) -> AdminSessionRow:
    row = AdminSessionRow(id=token_key(token), admin_id=admin.id, csrf=csrf, expires_at=expires_at)
    session.add(row)
    return row


def session_for(session: Session, token: str) -> tuple[AdminSessionRow, AdminRow] | None:
    """The live session of this cookie token and its admin; None when unknown or expired."""
    row = session.get(AdminSessionRow, token_key(token))
    if row is None or row.expires_at <= utcnow():
        return None
    admin = session.get(AdminRow, row.admin_id)
    return (row, admin) if admin else None


def close_session(session: Session, token: str) -> None:
    session.execute(delete(AdminSessionRow).where(AdminSessionRow.id == token_key(token)))


def purge_expired(session: Session) -> int:
    result = session.execute(delete(AdminSessionRow).where(AdminSessionRow.expires_at <= utcnow()))
    return result.rowcount or 0
