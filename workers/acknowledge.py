"""send_ack's work: render and send one recorded acknowledgement, at most once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import update

from ingest.model import decision_from_dict
from workers.ack_context import build_context
from workers.ack_mail import ack_message_id, compose
from workers.contract import guidance_for_decision
from workers.render import RenderedAck, render_ack
from workers.runtime import Runtime
from workers.store.schema import AckRow, IntakeRow, MessageRow, TicketRow, utcnow
from workers.store.threading import tag_for
from workers.store.tickets import event

log = logging.getLogger("guichet.ack")


def claim(rt: Runtime, ack_id: int) -> bool:
    """pending → sending, atomically: only one worker ever sends a given acknowledgement."""
    with rt.sessions.begin() as session:
        result = session.execute(
            update(AckRow)
            .where(AckRow.id == ack_id, AckRow.status == "pending")
            .values(status="sending", attempts=AckRow.attempts + 1)
        )
        return result.rowcount == 1


def send(rt: Runtime, ack_id: int) -> str:
    if not claim(rt, ack_id):
        return "already handled"
    try:
        message, recipient = build(rt, ack_id)
        rt.outbound.send(message, recipient)
    except Exception as exc:
        _release(rt, ack_id, f"{type(exc).__name__}: {exc}")
        raise
    _finish(rt, ack_id, message["Message-ID"].strip("<>"), message["Subject"])
    return "sent"


def render_for(rt: Runtime, ticket: TicketRow, intake: IntakeRow, subject: str) -> RenderedAck:
    decision = decision_from_dict(intake.decision or {})
    received = (
        intake.received_at if intake.received_at.tzinfo else intake.received_at.replace(tzinfo=UTC)
    )
    guidance = guidance_for_decision(decision, rt.directory, received)
    context = build_context(
        ticket_number=ticket.number,
        tag=tag_for(rt.settings.ticket_tag, ticket.number),
        subject=subject,
        decision=decision,
        guidance=guidance,
        received_at=received,
    )
    return render_ack(context, decision.language)


def build(rt: Runtime, ack_id: int):
    with rt.sessions() as session:
        ack = session.get(AckRow, ack_id)
        ticket, intake = (
            session.get(TicketRow, ack.ticket_id),
            session.get(IntakeRow, ack.intake_id),
        )
        original = session.query(MessageRow).filter_by(intake_id=intake.id).one()
        rendered = render_for(rt, ticket, intake, original.subject)
        message = compose(
            rendered,
            sender=rt.settings.ack_from,
            recipient=ack.recipient,
            message_id=ack_message_id(ack.id, ticket.number, rt.mail_domain),
            in_reply_to=original.message_id,
            references=[],
            language=ticket.language,
            sent_at=datetime.now(UTC),
        )
        return message, ack.recipient


def _release(rt: Runtime, ack_id: int, error: str) -> None:
    """Sending failed before the relay took it: back to pending, so a retry may send it."""
    with rt.sessions.begin() as session:
        session.execute(
            update(AckRow).where(AckRow.id == ack_id).values(status="pending", error=error[:2000])
        )
    log.warning("acknowledgement not sent: %s", error, extra={"ack_id": ack_id})


def _finish(rt: Runtime, ack_id: int, message_id: str, subject: str) -> None:
    with rt.sessions.begin() as session:
        ack = session.get(AckRow, ack_id)
        ack.status, ack.sent_at, ack.message_id, ack.subject, ack.error = (
            "sent",
            utcnow(),
            message_id,
            subject,
            None,
        )
        event(
            session,
            "ack-sent",
            ack.intake_id,
            ack.ticket_id,
            recipient=ack.recipient,
            message_id=message_id,
        )
    log.info("acknowledgement sent", extra={"ack_id": ack_id})
