"""Admin accounts: add, change, remove (every change audited) and sign-in with back-off after failures."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import sessionmaker

from workers.admin.passwords import hash_password, needs_rehash, verify
from workers.store import admins, audit
from workers.store.schema import utcnow

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
FREE_FAILURES = 5  # in a row; then each further failure doubles the wait
FIRST_WAIT = timedelta(seconds=30)
LONGEST_WAIT = timedelta(hours=1)


class AccountError(ValueError):
    """A mistake in what was asked (bad name, unknown admin…): the message says what to do."""


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in attempt: the admin, or why not and for how long."""

    admin_id: int | None
    name: str = ""
    locked_for: int = 0  # seconds before another attempt is considered


def check_name(name: str) -> str:
    if not NAME.fullmatch(name):
        raise AccountError(
            f"{name!r} is not a valid admin name: letters, digits and . _ @ - (64 at most)"
        )
    return name


def check_email(email: str | None) -> str | None:
    if email and not EMAIL.fullmatch(email):
        raise AccountError(f"{email!r} is not an e-mail address")
    return email or None


def add_admin(sessions: sessionmaker, name: str, password: str, email: str | None, actor: str):
    check_name(name)
    email = check_email(email)
    digest = hash_password(password)
    with sessions.begin() as session:
        if admins.find(session, name):
            raise AccountError(f"admin {name!r} exists; use `guichet admins passwd {name}`")
        admins.add(session, name, digest, email)
        audit.record(session, actor, "admin.add", f"admin:{name}", email=email)


def _existing(session, name: str):
    row = admins.find(session, name)
    if row is None:
        raise AccountError(f"no admin {name!r}; `guichet admins list` shows them")
    return row


def set_password(sessions: sessionmaker, name: str, password: str, actor: str) -> None:
    digest = hash_password(password)
    with sessions.begin() as session:
        row = _existing(session, name)
        row.password_hash, row.failed_logins, row.locked_until = digest, 0, None
        admins.end_sessions(session, row.id)
        audit.record(session, actor, "admin.passwd", f"admin:{name}")


def set_email(sessions: sessionmaker, name: str, email: str, actor: str) -> None:
    email = check_email(email)
    with sessions.begin() as session:
        _existing(session, name).email = email
        audit.record(session, actor, "admin.email", f"admin:{name}", email=email)


def remove_admin(sessions: sessionmaker, name: str, actor: str) -> None:
    with sessions.begin() as session:
        row = _existing(session, name)
        admins.end_sessions(session, row.id)
        session.delete(row)
        audit.record(session, actor, "admin.remove", f"admin:{name}")


def wait_after(failures: int) -> timedelta:
    """No wait for the first few failures, then 30 s, 1 min, 2 min… up to an hour."""
    if failures < FREE_FAILURES:
        return timedelta(0)
    return min(FIRST_WAIT * 2 ** (failures - FREE_FAILURES), LONGEST_WAIT)


def sign_in(sessions: sessionmaker, name: str, password: str, ip: str) -> SignIn:
    """Check a password; failures in a row make the account wait before the next check."""
    with sessions.begin() as session:
        row = admins.find(session, name)
        now = utcnow()
        if row is not None and row.locked_until and row.locked_until > now:
            audit.record(session, name, "signin.locked", f"admin:{name}", ip=ip)
            return SignIn(None, name, int((row.locked_until - now).total_seconds()) + 1)
        if not verify(row.password_hash if row else None, password):
            return _failed(session, row, name, ip)
        row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
        if needs_rehash(row.password_hash):
            row.password_hash = hash_password(password)
        audit.record(session, name, "signin", f"admin:{name}", ip=ip)
        return SignIn(row.id, name)


def _failed(session, row, name: str, ip: str) -> SignIn:
    audit.record(session, name[:64], "signin.failed", f"admin:{name[:64]}", ip=ip)
    if row is None:
        return SignIn(None, name)
    row.failed_logins += 1
    wait = wait_after(row.failed_logins)
    row.locked_until = utcnow() + wait if wait else None
    return SignIn(None, name, int(wait.total_seconds()))
