"""Tables of the webhook edge: partners, their encrypted secrets, idempotency records (migration 0002)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from workers.store.schema import Base, UTCDateTime, utcnow


class PartnerRow(Base):
    __tablename__ = "partners"
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    clients: Mapped[list] = mapped_column(JSON, default=list)  # empty: every account
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PartnerSecretRow(Base):
    """One signing secret, Fernet-encrypted: HMAC needs the secret itself, so it cannot be hashed."""

    __tablename__ = "partner_secrets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner: Mapped[str] = mapped_column(
        ForeignKey("partners.name", ondelete="CASCADE"), index=True
    )
    encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    hint: Mapped[str] = mapped_column(
        String(16), default=""
    )  # last characters, to tell secrets apart
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: until rotated


class IdempotencyRow(Base):
    """The first answer given to one (partner, key); the key is stored hashed to a fixed width."""

    __tablename__ = "webhook_idempotency"
    partner: Mapped[str] = mapped_column(String(63), primary_key=True)
    key_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    body_sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
