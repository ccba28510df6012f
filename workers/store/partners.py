"""Partner systems and their signing secrets: encrypted at rest, several active at once during a rotation."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from ingest.edges.webhook.ports import PARTNER_NAME, Partner
from ingest.edges.webhook.signatures import new_secret
from workers.store.schema import utcnow
from workers.store.schema_webhooks import PartnerRow, PartnerSecretRow

KEY_ENV = "GUICHET_SECRET_KEY"
KEY_FILE = "secret.key"
HINT_LENGTH = 4


class PartnerError(Exception):
    """A partner command that cannot be done (unknown name, bad name, already exists)."""


def secret_box(home: Path) -> Fernet:
    """The Fernet key from GUICHET_SECRET_KEY, else `$GUICHET_HOME/secret.key` (created 0600 once)."""
    if os.environ.get(KEY_ENV):
        return Fernet(os.environ[KEY_ENV].encode())
    path = Path(home) / KEY_FILE
    if not path.exists():
        _create_key(path)
    return Fernet(path.read_bytes().strip())


def _create_key(path: Path) -> None:
    """Written whole under another name, then linked into place: several processes starting
    at once on one shared home (containers on one volume) all end up with the one key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{KEY_FILE}.{os.getpid()}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(Fernet.generate_key())
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(draft, path)  # fails if another process linked its key first: keep that one
    except FileExistsError:
        pass
    finally:
        draft.unlink()


@dataclass(frozen=True)
class PartnerView:
    """What `guichet partners list` shows: never a secret, only its fingerprint."""

    name: str
    clients: list[str]
    revoked: bool
    secrets: list[tuple[str, datetime | None]]  # (fingerprint, expires_at)


def fingerprint(secret: str) -> str:
    """ "sha256:3f9a1c0b7e22": tells two secrets apart without revealing either (the last
    characters of a base64 secret are often its padding, the same for every secret)."""
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def _active(now: datetime):
    return or_(PartnerSecretRow.expires_at.is_(None), PartnerSecretRow.expires_at > now)


class SqlPartners:
    """`ingest.edges.webhook.ports.Partners` over the store, plus the admin commands."""

    def __init__(self, sessions: sessionmaker, box: Fernet):
        self.sessions, self.box = sessions, box

    def find(self, name: str) -> Partner | None:
        with self.sessions() as session:
            row = session.get(PartnerRow, name)
            if row is None or row.revoked_at is not None:
                return None
            secrets = session.scalars(
                select(PartnerSecretRow.encrypted).where(
                    PartnerSecretRow.partner == name, _active(utcnow())
                )
            )
            plain = tuple(self.box.decrypt(s).decode() for s in secrets)
            return Partner(name, plain, frozenset(row.clients or ()))

    def add(self, name: str, clients: list[str], secret: str | None = None) -> str:
        """Create the partner with one secret (generated unless a provider's key is imported); returns it."""
        if not re.fullmatch(PARTNER_NAME, name):
            raise PartnerError(f"partner names match {PARTNER_NAME}")
        with self.sessions.begin() as session:
            if session.get(PartnerRow, name) is not None:
                raise PartnerError(f"partner {name} already exists")
            session.add(PartnerRow(name=name, clients=sorted(clients)))
            return self._new_secret(session, name, secret)

    def rotate(self, name: str, keep_old_for: timedelta, secret: str | None = None) -> str:
        """A new secret; the current ones stay valid for `keep_old_for` so senders can switch."""
        now = utcnow()
        with self.sessions.begin() as session:
            self._live(session, name)
            for row in session.scalars(
                select(PartnerSecretRow).where(PartnerSecretRow.partner == name, _active(now))
            ):
                row.expires_at = now + keep_old_for
            return self._new_secret(session, name, secret)

    def revoke(self, name: str) -> None:
        now = utcnow()
        with self.sessions.begin() as session:
            self._live(session, name).revoked_at = now
            for row in session.scalars(
                select(PartnerSecretRow).where(PartnerSecretRow.partner == name, _active(now))
            ):
                row.expires_at = now

    def names(self) -> list[str]:
        return [view.name for view in self.list() if not view.revoked]

    def list(self) -> list[PartnerView]:
        now = utcnow()
        with self.sessions() as session:
            return [
                self._view(session, row, now)
                for row in session.scalars(select(PartnerRow).order_by(PartnerRow.name))
            ]

    def _view(self, session: Session, row: PartnerRow, now: datetime) -> PartnerView:
        query = (
            select(PartnerSecretRow)
            .where(PartnerSecretRow.partner == row.name, _active(now))
            .order_by(PartnerSecretRow.id)
        )
        secrets = [(self._fingerprint(s), s.expires_at) for s in session.scalars(query)]
        return PartnerView(row.name, list(row.clients or ()), row.revoked_at is not None, secrets)

    def _fingerprint(self, row: PartnerSecretRow) -> str:
        return fingerprint(self.box.decrypt(row.encrypted).decode())

    def _live(self, session: Session, name: str) -> PartnerRow:
        row = session.get(PartnerRow, name)
        if row is None or row.revoked_at is not None:
            raise PartnerError(f"no active partner named {name}")
        return row

    def _new_secret(self, session: Session, name: str, secret: str | None) -> str:
        secret = secret or new_secret()
        session.add(
            PartnerSecretRow(
                partner=name,
                encrypted=self.box.encrypt(secret.encode()),
                hint=secret[-HINT_LENGTH:],
            )
        )
        return secret
