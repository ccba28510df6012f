"""The rows a filing writes beside the ticket: the message, its acknowledgement, the page, the trail events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.model import Content
from workers import metrics
from workers.store.journal import storable
from workers.store.schema import AckRow, EventRow, IntakeRow, MessageRow, PageRow, TicketRow

PARSER_MARKER = "parser:"  # the defect that only names the parser used: not a defect of the mail


@dataclass
class Plan:
    """What the actor decided beside the ticket row: who to answer, when to page."""

    ack_recipient: str = ""
    ack_skip_reason: str | None = None
    # The per-sender acknowledgement limit, asked only when an acknowledgement is recorded:
    # a follow-up that is never acknowledged must not use up the sender's allowance.
    ack_allowed: Callable[[str], bool] | None = None

    def settle_limit(self) -> None:
        """Ask the per-sender limit now (the intake is about to open a ticket)."""
        if not self.ack_skip_reason and self.ack_allowed is not None:
            self.ack_skip_reason = None if self.ack_allowed(self.ack_recipient) else "rate-limited"
        self.ack_allowed = None

    def skip_reason(self) -> str | None:
        if self.ack_skip_reason:
            return self.ack_skip_reason
        if self.ack_allowed is not None and not self.ack_allowed(self.ack_recipient):
            return "rate-limited"
        return None

    page_at: datetime | None = None
    gti_deadline: datetime | None = None
    urgency: str | None = None  # the urgency the guidance was worked out for


def event(
    session: Session, kind: str, intake_id: str | None, ticket_id: int | None, **detail
) -> None:
    session.add(EventRow(kind=kind, intake_id=intake_id, ticket_id=ticket_id, detail=detail))


def add_message(session: Session, intake: IntakeRow, ticket: TicketRow, content: Content) -> None:
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
            defects=mail_defects(content),
        )
    )


def mail_defects(content: Content) -> list[str]:
    """What was wrong with the mail as received (a defective header line, bad base64…)."""
    return [storable(d[:500]) for d in content.defects if not d.startswith(PARSER_MARKER)][:50]


def record_ack(
    session: Session, intake: IntakeRow, ticket: TicketRow, plan: Plan, kind: str = "received"
) -> list[int]:
    skip_reason = plan.skip_reason()
    status = "skipped" if skip_reason else "pending"
    metrics.ack_recorded(session, skip_reason)
    ack = AckRow(
        ticket_id=ticket.id,
        intake_id=intake.id,
        kind=kind,
        recipient=plan.ack_recipient,
        status=status,
        skip_reason=skip_reason,
    )
    session.add(ack)
    session.flush()
    event(
        session,
        "ack-" + status,
        intake.id,
        ticket.id,
        recipient=plan.ack_recipient,
        reason=skip_reason,
    )
    return [ack.id] if status == "pending" else []


def record_page(session: Session, intake: IntakeRow, ticket: TicketRow, plan: Plan) -> list[int]:
    if plan.page_at is None or session.scalar(
        select(PageRow.id).where(PageRow.ticket_id == ticket.id)
    ):
        return []
    page = PageRow(ticket_id=ticket.id, due_at=plan.page_at)
    session.add(page)
    session.flush()
    event(session, "page-scheduled", intake.id, ticket.id, due_at=plan.page_at.isoformat())
    return [page.id]
