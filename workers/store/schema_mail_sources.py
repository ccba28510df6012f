"""Tables of the mailbox and archive edges: IMAP progress per mailbox, replay checkpoints (migration 0006)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from workers.store.schema import Base, UTCDateTime, utcnow


class FetchProgressRow(Base):
    """The highest UID of one IMAP folder already taken in and set aside, for its UIDVALIDITY."""

    __tablename__ = "fetch_progress"
    mailbox: Mapped[str] = mapped_column(String(400), primary_key=True)  # Mailbox.progress_key
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger, default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReplayCheckpointRow(Base):
    """How far a replay of one archive went: messages done, and the digest of the last one."""

    __tablename__ = "replay_checkpoints"
    archive_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)  # of its path
    path: Mapped[str] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    last_sha256: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
