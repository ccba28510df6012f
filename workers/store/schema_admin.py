"""Tables of the admin console: admins, their sessions, template versions, the audit log (migration 0007)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workers.store.schema import Base, UTCDateTime, utcnow


class AdminRow(Base):
    """A support admin: signs in to /admin; only the password's Argon2 hash is kept."""

    __tablename__ = "admins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_logins: Mapped[int] = mapped_column(
        Integer, default=0
    )  # in a row, since the last success
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AdminSessionRow(Base):
    """A signed-in browser: the cookie's token is stored hashed, with its CSRF token."""

    __tablename__ = "admin_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    admin_id: Mapped[int] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TemplateVersionRow(Base):
    """One saved change of the acknowledgement templates; its id is the version number.

    `overrides` is the whole overlay after this change ({file: text} for every file that
    differs from the shipped default); `changes` holds, for the files this change touched,
    their text before and after, so that history shows exactly what was done."""

    __tablename__ = "template_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The version this one was made from (0: none). Unique, so two admins saving at once
    # from the same version cannot both win: the second is told to reload.
    parent: Mapped[int] = mapped_column(Integer, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    author: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))  # save | restore | reset
    template: Mapped[str] = mapped_column(String(64), index=True)  # e.g. ack.fr, _identity.en
    comment: Mapped[str] = mapped_column(Text, default="")
    overrides: Mapped[dict] = mapped_column(JSON, default=dict)
    changes: Mapped[dict] = mapped_column(JSON, default=dict)
    restored_from: Mapped[int | None] = mapped_column(Integer)


class AuditRow(Base):
    """Who did what, when: every template change, rollback, retry, test mail and account change."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(200), default="", index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
