"""What an acknowledgement answers: the request it refers to, its headers, and the decision its guidance follows."""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.model import Decision, decision_from_dict
from workers.store.journal import intake_content
from workers.store.records import message_of
from workers.store.schema import AckRow, IntakeRow, MessageRow, TicketRow

RECEIVED, IDENTIFIED = "received", "identified"


@dataclass(frozen=True)
class Answered:
    """The request an acknowledgement is about, as its template and headers need it."""

    kind: str  # "received": the request itself; "identified": a reply that identified its sender
    decision: Decision  # whose guidance the acknowledgement gives
    subject: str  # the request's subject as the customer wrote it
    channel: str  # "smtp" | "webhook"
    in_reply_to: str  # Message-ID answered ("" for a webhook: its ids are ours, not the partner's)
    reference: str | None  # the partner's own reference of a webhook request
    partner: str | None


def answered(session: Session, ack: AckRow, ticket: TicketRow, intake: IntakeRow) -> Answered:
    message = message_of(session, intake.id)
    decision = decision_from_dict(intake.decision or {})
    subject = message.subject if message else ""
    if ack.kind == IDENTIFIED:
        first = _first_intake(session, ticket)
        decision = confirmation_decision(decision_from_dict(first.decision or {}), decision, ticket)
        subject = ticket.subject or subject
    webhook = intake.channel == "webhook"
    return Answered(
        kind=ack.kind or RECEIVED,
        decision=decision,
        subject=subject,
        channel=intake.channel,
        in_reply_to="" if webhook or not message else message.message_id,
        reference=_reference(intake) if webhook else None,
        partner=intake.partner,
    )


def confirmation_decision(original: Decision, reply: Decision, ticket: TicketRow) -> Decision:
    """The ticket's request as it now stands: identified by the reply, urgent if it now may be."""
    urgency = replace(
        original.urgency,
        level=ticket.urgency,
        requested=ticket.urgent_requested,
        eligible=reply.urgency.eligible,
    )
    return replace(
        original,
        identity=reply.identity,
        urgency=urgency,
        suppression=reply.suppression,
        language=ticket.language,
    )


def _first_intake(session: Session, ticket: TicketRow) -> IntakeRow:
    first = session.scalar(
        select(MessageRow.intake_id)
        .where(MessageRow.ticket_id == ticket.id)
        .order_by(MessageRow.id)
    )
    return session.get(IntakeRow, first)


def _reference(intake: IntakeRow) -> str | None:
    declared = intake_content(intake).declared  # the stored copy: no second validation
    return (declared.get("external_reference") or "").strip() or None
