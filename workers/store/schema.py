"""SQLAlchemy tables of the ticket store (the migrations in `migrations/` create them)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Aware datetimes stored as UTC and read back aware, on SQLite (which keeps no offset) too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} would be stored ambiguously")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class AccountRow(Base):
    __tablename__ = "accounts"
    client_number: Mapped[str] = mapped_column(String(5), primary_key=True)
    company: Mapped[str] = mapped_column(String(200))
    services: Mapped[str] = mapped_column(String(300), default="")  # ";"-separated
    coverage: Mapped[str] = mapped_column(String(10), default="business")
    gti_minutes: Mapped[int] = mapped_column(Integer, default=240)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ContactRow(Base):
    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("client_number", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_number: Mapped[str] = mapped_column(
        ForeignKey("accounts.client_number", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320), index=True)


class DirectoryVersionRow(Base):
    """One row: bumped by every directory import, so processes reload their snapshot."""

    __tablename__ = "directory_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class IntakeRow(Base):
    """One request as it arrived, committed before the edge answers."""

    __tablename__ = "intakes"
    __table_args__ = (
        Index("ix_intakes_status_received", "status", "received_at"),
        Index("ix_intakes_message_id", "message_id"),  # a reply finds its unfiled parent
    )
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    envelope_sender: Mapped[str] = mapped_column(String(320), default="")
    recipients: Mapped[list] = mapped_column(JSON, default=list)
    client_ip: Mapped[str] = mapped_column(String(64), default="")
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_sha256: Mapped[str] = mapped_column(String(64), index=True)
    message_id: Mapped[str] = mapped_column(String(998), default="")
    dedup_key: Mapped[str] = mapped_column(String(64), index=True)
    partner: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(200))  # "imap:<mailbox>", "replay:<file>"
    decision: Mapped[dict | None] = mapped_column(JSON)
    # The request as the edge read it (`ingest.model.content_to_dict`): the worker files from
    # it instead of parsing the raw bytes again. None when the edge could not read it.
    content: Mapped[dict | None] = mapped_column(JSON)
    queue: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="received")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TicketRow(Base):
    __tablename__ = "tickets"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    subject: Mapped[str] = mapped_column(Text, default="")
    channel: Mapped[str] = mapped_column(String(16), default="smtp")
    requester: Mapped[str] = mapped_column(String(320), default="")
    client_number: Mapped[str | None] = mapped_column(String(16), index=True)  # as written
    account_known: Mapped[bool] = mapped_column(Boolean, default=False)
    identity_status: Mapped[str] = mapped_column(String(16), default="unverified")
    authorised: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    sender_authenticated: Mapped[bool | None] = mapped_column(Boolean)
    # declared | authenticated | unknown | failed (migration 0008; None before it)
    sender_trust: Mapped[str | None] = mapped_column(String(16))
    auth: Mapped[dict] = mapped_column(JSON, default=dict)
    urgency: Mapped[str] = mapped_column(String(16), default="routine")
    urgent_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str] = mapped_column(String(8), default="fr")
    category: Mapped[dict] = mapped_column(JSON, default=dict)
    gti_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")
    review: Mapped[str | None] = mapped_column(Text)  # why staff must look (parse failure…)


class MessageRow(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    intake_id: Mapped[str] = mapped_column(ForeignKey("intakes.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    message_id: Mapped[str] = mapped_column(String(998), default="", index=True)
    sender: Mapped[str] = mapped_column(String(320), default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    dedup_key: Mapped[str] = mapped_column(String(64), unique=True)
    defects: Mapped[list] = mapped_column(JSON, default=list)  # what was wrong with the mail


class DedupClaimRow(Base):
    """The first intake filed with a given content key: copies filed in parallel insert-or-find it."""

    __tablename__ = "dedup_claims"
    dedup_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    intake_id: Mapped[str] = mapped_column(ForeignKey("intakes.id"), unique=True)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TicketLinkRow(Base):
    """A ticket that points at another it may not join (a stranger quoting a customer's ticket)."""

    __tablename__ = "ticket_links"
    __table_args__ = (UniqueConstraint("ticket_id", "linked_ticket_id", "kind"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    linked_ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32), default="refers-to")
    intake_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class EventRow(Base):
    """The intake trail: every decision and action, in order."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    intake_id: Mapped[str | None] = mapped_column(String(32), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)


class AckRow(Base):
    """An acknowledgement: recorded before it is sent, sent at most once."""

    __tablename__ = "acks"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    intake_id: Mapped[str] = mapped_column(ForeignKey("intakes.id"), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="received")  # | "identified"
    recipient: Mapped[str] = mapped_column(String(320), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    skip_reason: Mapped[str | None] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(998), default="", index=True)
    subject: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PageRow(Base):
    """An on-call page for an urgent ticket, now or at the next covered moment."""

    __tablename__ = "pages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The trust of the sender whose request triggered it: a page from an "unknown" sender says so.
    sender_trust: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)


class ParkedRow(Base):
    """A queue message that exhausted its retries: kept with its reason, replayable."""

    __tablename__ = "parked"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(100))
    args: Mapped[list] = mapped_column(JSON, default=list)
    message_id: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="parked")  # parked | replayed
    replayed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
