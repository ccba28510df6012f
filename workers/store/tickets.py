"""Turn a stored intake into a ticket (new or threaded), once, with its acknowledgement and page rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.model import Content, Decision
from workers.store import threading
from workers.store.journal import storable
from workers.store.schema import AckRow, EventRow, IntakeRow, MessageRow, PageRow, TicketRow, utcnow

TICKET_NUMBER_OFFSET = 100000  # ticket numbers have 6+ digits: never mistaken for a client number


@dataclass
class Outcome:
    ticket_id: int | None
    number: int | None = None
    created: bool = False
    duplicate: bool = False
    ack_ids: list[int] = field(default_factory=list)  # pending acknowledgements to send
    page_ids: list[int] = field(default_factory=list)


@dataclass
class Plan:
    """What the actor decided beside the ticket row: who to answer, when to page."""

    ack_recipient: str = ""
    ack_skip_reason: str | None = None
    page_at: datetime | None = None
    gti_deadline: datetime | None = None


def pending_work(session: Session, intake: IntakeRow) -> Outcome:
    """An intake already handled (redelivery): report what may still need sending."""
    ticket = session.get(TicketRow, intake.ticket_id) if intake.ticket_id else None
    acks = session.scalars(
        select(AckRow.id).where(AckRow.intake_id == intake.id, AckRow.status == "pending")
    ).all()
    pages = (
        session.scalars(
            select(PageRow.id).where(
                PageRow.ticket_id == intake.ticket_id, PageRow.status == "scheduled"
            )
        ).all()
        if ticket
        else []
    )
    return Outcome(
        intake.ticket_id,
        ticket.number if ticket else None,
        ack_ids=list(acks),
        page_ids=list(pages),
    )


def event(
    session: Session, kind: str, intake_id: str | None, ticket_id: int | None, **detail
) -> None:
    session.add(EventRow(kind=kind, intake_id=intake_id, ticket_id=ticket_id, detail=detail))


def file_intake(
    session: Session,
    intake: IntakeRow,
    content: Content,
    decision: Decision,
    plan: Plan,
    tag_label: str,
) -> Outcome:
    """Dedup, thread or create; then record the message, the acknowledgement and the page."""
    duplicate = threading.by_dedup_key(session, intake.dedup_key)
    if duplicate is not None:
        return _file_duplicate(session, intake, duplicate)
    sender = content.from_address or intake.envelope_sender
    match = threading.find_thread(session, content, decision.identity, sender, tag_label)
    created = match.ticket is None
    ticket = match.ticket or _new_ticket(session, intake, content, decision, plan)
    if match.refused is not None:
        event(
            session,
            "thread-refused",
            intake.id,
            ticket.id,
            pointed_at=match.refused.number,
            why=match.why,
        )
    elif not created:
        event(session, "threaded", intake.id, ticket.id, via=match.via)
        _reverify(session, intake, ticket, decision)
    _add_message(session, intake, ticket, content)
    outcome = Outcome(ticket.id, ticket.number, created=created)
    if created:
        outcome.ack_ids = _record_ack(session, intake, ticket, plan)
        outcome.page_ids = _record_page(session, intake, ticket, plan)
    intake.status, intake.ticket_id, intake.updated_at = "ticketed", ticket.id, utcnow()
    return outcome


def _file_duplicate(session: Session, intake: IntakeRow, original: MessageRow) -> Outcome:
    intake.status, intake.ticket_id, intake.updated_at = "duplicate", original.ticket_id, utcnow()
    event(session, "duplicate", intake.id, original.ticket_id, original_intake=original.intake_id)
    ticket = session.get(TicketRow, original.ticket_id)
    return Outcome(ticket.id, ticket.number, duplicate=True)


def _new_ticket(
    session: Session, intake: IntakeRow, content: Content, decision: Decision, plan: Plan
) -> TicketRow:
    identity = decision.identity
    ticket = TicketRow(
        subject=storable(content.subject[:2000]),
        channel=intake.channel,
        requester=storable((content.from_address or intake.envelope_sender).lower()),
        client_number=identity.client_number,
        account_known=identity.account_known,
        identity_status=identity.status,
        authorised=identity.status == "verified",
        contact_name=identity.contact_name,
        sender_authenticated=identity.sender_authenticated,
        auth=identity.auth,
        urgency=decision.urgency.level,
        urgent_requested=decision.urgency.requested,
        language=decision.language,
        category=_category(decision),
        gti_deadline=plan.gti_deadline,
        review=storable(next((f.why for f in decision.trail if f.field == "review"), None)),
    )
    session.add(ticket)
    session.flush()
    ticket.number = ticket.id + TICKET_NUMBER_OFFSET
    event(
        session,
        "created",
        intake.id,
        ticket.id,
        number=ticket.number,
        trail=[f.__dict__ for f in decision.trail],
    )
    return ticket


def _category(decision: Decision) -> dict:
    c = decision.category
    return {
        "services": c.services,
        "servers": c.servers,
        "urls": c.urls,
        "isp": c.isp,
        "connection": c.connection,
        "missing": c.missing,
    }


def _reverify(session: Session, intake: IntakeRow, ticket: TicketRow, decision: Decision) -> None:
    """A reply that supplies the missing number and name authorises the ticket."""
    identity = decision.identity
    if ticket.identity_status != "verified" and identity.status == "verified":
        ticket.identity_status, ticket.authorised = "verified", True
        ticket.client_number, ticket.contact_name = identity.client_number, identity.contact_name
        ticket.account_known = True
        event(session, "reverified", intake.id, ticket.id, client_number=identity.client_number)
    ticket.updated_at = utcnow()


def _add_message(session: Session, intake: IntakeRow, ticket: TicketRow, content: Content) -> None:
    session.add(
        MessageRow(
            ticket_id=ticket.id,
            intake_id=intake.id,
            message_id=storable(content.message_id[:998]),
            sender=storable((content.from_address or intake.envelope_sender)[:320]),
            subject=storable(content.subject),
            text=storable(content.text),
            attachments=[a.__dict__ for a in content.attachments],
            dedup_key=intake.dedup_key,
        )
    )


def _record_ack(session: Session, intake: IntakeRow, ticket: TicketRow, plan: Plan) -> list[int]:
    status = "skipped" if plan.ack_skip_reason else "pending"
    ack = AckRow(
        ticket_id=ticket.id,
        intake_id=intake.id,
        recipient=plan.ack_recipient,
        status=status,
        skip_reason=plan.ack_skip_reason,
    )
    session.add(ack)
    session.flush()
    event(
        session,
        "ack-" + status,
        intake.id,
        ticket.id,
        recipient=plan.ack_recipient,
        reason=plan.ack_skip_reason,
    )
    return [ack.id] if status == "pending" else []


def _record_page(session: Session, intake: IntakeRow, ticket: TicketRow, plan: Plan) -> list[int]:
    if plan.page_at is None:
        return []
    page = PageRow(ticket_id=ticket.id, due_at=plan.page_at)
    session.add(page)
    session.flush()
    event(session, "page-scheduled", intake.id, ticket.id, due_at=plan.page_at.isoformat())
    return [page.id]
