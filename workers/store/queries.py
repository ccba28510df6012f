"""Read-only views of tickets for the CLI and the HTTP app."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from workers.store.schema import AckRow, EventRow, MessageRow, PageRow, TicketLinkRow, TicketRow

TICKET_FIELDS = (
    "number", "created_at", "status", "channel", "requester", "subject", "client_number", "identity_status",
    "authorised", "contact_name", "sender_authenticated", "sender_trust", "auth", "urgency", "urgent_requested", "language",
    "category", "gti_deadline", "review",
)  # fmt: skip


def _row(obj, fields) -> dict:
    out = {}
    for name in fields:
        value = getattr(obj, name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def list_tickets(session: Session, limit: int = 100) -> list[dict]:
    rows = session.scalars(select(TicketRow).order_by(TicketRow.id.desc()).limit(limit))
    return [_row(t, TICKET_FIELDS) for t in rows]


def ticket_detail(session: Session, number: int) -> dict | None:
    ticket = session.scalar(select(TicketRow).where(TicketRow.number == number))
    if ticket is None:
        return None
    detail = _row(ticket, TICKET_FIELDS)
    detail["messages"] = [
        _row(
            m,
            (
                "intake_id",
                "created_at",
                "message_id",
                "sender",
                "subject",
                "text",
                "attachments",
                "defects",
            ),
        )
        for m in session.scalars(
            select(MessageRow).where(MessageRow.ticket_id == ticket.id).order_by(MessageRow.id)
        )
    ]
    detail["acknowledgements"] = [
        _row(
            a,
            (
                "kind",
                "recipient",
                "status",
                "skip_reason",
                "subject",
                "message_id",
                "attempts",
                "error",
                "sent_at",
            ),
        )
        for a in session.scalars(
            select(AckRow).where(AckRow.ticket_id == ticket.id).order_by(AckRow.id)
        )
    ]
    detail["pages"] = [
        _row(p, ("due_at", "status", "sent_at", "error", "sender_trust"))
        for p in session.scalars(select(PageRow).where(PageRow.ticket_id == ticket.id))
    ]
    detail["links"] = links_of(session, ticket.id)
    detail["trail"] = [
        _row(e, ("at", "kind", "intake_id", "detail"))
        for e in session.scalars(
            select(EventRow).where(EventRow.ticket_id == ticket.id).order_by(EventRow.id)
        )
    ]
    return detail


def links_of(session: Session, ticket_id: int) -> list[dict]:
    """Tickets this one refers to (a message quoting them) and tickets that refer to it."""
    other = aliased(TicketRow)
    out = []
    for mine, theirs, direction in (
        (TicketLinkRow.ticket_id, TicketLinkRow.linked_ticket_id, "refers-to"),
        (TicketLinkRow.linked_ticket_id, TicketLinkRow.ticket_id, "referred-by"),
    ):
        rows = session.execute(
            select(other.number, TicketLinkRow.intake_id, TicketLinkRow.created_at)
            .join(other, other.id == theirs)
            .where(mine == ticket_id)
            .order_by(TicketLinkRow.id)
        )
        out += [
            {"kind": direction, "number": n, "intake_id": i, "at": at.isoformat()}
            for n, i, at in rows
        ]
    return out
