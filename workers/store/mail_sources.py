"""What the mailbox and archive edges remember: bytes already taken in, IMAP progress, replay checkpoints."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from workers.store.schema import IntakeRow, utcnow
from workers.store.schema_mail_sources import FetchProgressRow, ReplayCheckpointRow


class SqlLedger:
    """`ingest.edges.stored_mail.Ledger`: an intake with exactly these bytes, whatever its door."""

    def __init__(self, sessions: sessionmaker):
        self._sessions = sessions

    def taken(self, raw_sha256: str) -> str | None:
        with self._sessions() as session:
            return session.scalar(
                select(IntakeRow.id).where(IntakeRow.raw_sha256 == raw_sha256).limit(1)
            )


class SqlFetchProgress:
    """`ingest.edges.imap_fetch.Progress`: the last UID set aside, per mailbox and UIDVALIDITY."""

    def __init__(self, sessions: sessionmaker):
        self._sessions = sessions

    def last_uid(self, mailbox: str, uidvalidity: int) -> int:
        with self._sessions() as session:
            row = session.get(FetchProgressRow, mailbox)
            return row.last_uid if row is not None and row.uidvalidity == uidvalidity else 0

    def advance(self, mailbox: str, uidvalidity: int, uid: int) -> None:
        with self._sessions.begin() as session:
            row = session.get(FetchProgressRow, mailbox, with_for_update=True)
            if row is None:
                session.add(
                    FetchProgressRow(mailbox=mailbox, uidvalidity=uidvalidity, last_uid=uid)
                )
                return
            if row.uidvalidity != uidvalidity:
                row.uidvalidity, row.last_uid = uidvalidity, uid
            else:
                row.last_uid = max(row.last_uid, uid)
            row.updated_at = utcnow()


class SqlCheckpoints:
    """`ingest.edges.replay.Checkpoints`: messages of an archive already replayed, by its path."""

    def __init__(self, sessions: sessionmaker):
        self._sessions = sessions

    @staticmethod
    def _key(path: str) -> str:
        return hashlib.sha256(path.encode("utf-8", "surrogateescape")).hexdigest()

    def load(self, path: str) -> tuple[int, str] | None:
        with self._sessions() as session:
            row = session.get(ReplayCheckpointRow, self._key(path))
            return (row.position, row.last_sha256) if row is not None else None

    def save(self, path: str, position: int, last_sha256: str) -> None:
        with self._sessions.begin() as session:
            row = session.get(ReplayCheckpointRow, self._key(path))
            if row is None:
                shown = path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                row = ReplayCheckpointRow(archive_sha256=self._key(path), path=shown)
                session.add(row)
            row.position, row.last_sha256, row.updated_at = position, last_sha256, utcnow()
