"""The rows a filing writes beside the ticket: the message, its acknowledgement, the page, the trail events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ingest.model import Content
from workers import metrics
from workers.store.journal import INSERT_EVENTS, storable
from workers.store.row_writes import insert_row
from workers.store.schema import (
    AckRow,
    IntakeRow,
    MessageRow,
    PageRow,
    TicketRow,
    utcnow,
)

PARSER_MARKER = "parser:"  # the defect that only names the parser used: not a defect of the mail
MESSAGES = "guichet.messages"  # session.info key: the messages this session wrote, by intake
TRAIL = "guichet.trail"  # session.info key: the trail lines waiting for the commit
ACKS = AckRow.__table__
ACK_CLAIMED = "ack-claimed"  # event kind: who took an acknowledgement to send, and when
PAGE_CLAIMED = "page-claimed"  # event kind: who took an on-call page to send, and when
DUE_SLACK = 1  # seconds: a page due this soon is sent now rather than delayed


@dataclass(frozen=True)
class ClaimedPage:
    """A page due now, recorded already claimed (`sending`) by the process filing its ticket,
    in the filing's transaction: what it is to say, to send once that commit is done."""

    page_id: int
    ticket_id: int
    number: int | None
    client_number: str | None
    subject: str
    urgency: str
    sender_trust: str | None


@dataclass
class Plan:
    """What the actor decided beside the ticket row: who to answer, when to page."""

    ack_recipient: str = ""
    ack_skip_reason: str | None = None
    ack_variant: str | None = None  # "full" | "minimal" | "none" and why (workers/trust_gate.py)
    # The acknowledgement budgets (workers/acks/rate.py), asked only when an acknowledgement is
    # recorded: a follow-up that is never acknowledged must not use up the sender's allowance.
    # Called with the recipient; None = allowed (and counted), else the refusal.
    ack_refusal: Callable[[str], str | None] | None = None
    page_at: datetime | None = None
    gti_deadline: datetime | None = None
    urgency: str | None = None  # the urgency the guidance was worked out for
    # The budget of pages an unknown sender may trigger (None: never limited); asked only
    # when a page is recorded. None = allowed (and counted), else the refusal.
    page_refusal: Callable[[], str | None] | None = None
    page_refused: str | None = None
    sender_trust: str | None = None  # of the request this plan answers (marks its page)

    def settle_limit(self) -> None:
        """Ask the budgets now (the intake is about to open a ticket)."""
        if not self.ack_skip_reason and self.ack_refusal is not None:
            self.ack_skip_reason = self.ack_refusal(self.ack_recipient)
        self.ack_refusal = None
        if self.page_at is not None and self.page_refusal is not None:
            self.page_refused = self.page_refusal()
        self.page_refusal = None

    def skip_reason(self) -> str | None:
        if self.ack_skip_reason:
            return self.ack_skip_reason
        if self.ack_refusal is not None:
            return self.ack_refusal(self.ack_recipient)
        return None

    def page_refusal_now(self) -> str | None:
        if self.page_refusal is not None:
            self.page_refused, self.page_refusal = self.page_refusal(), None
        return self.page_refused


def keep(session: Session, row) -> None:
    """Hold `row` for the session's life. The session's identity map only holds weak references:
    a ticket or an acknowledgement nobody references once the filing returns was dropped at
    once, and building the acknowledgement after the commit read both back with a SELECT."""
    session.info.setdefault("kept", []).append(row)


def event(
    session: Session, kind: str, intake_id: str | None, ticket_id: int | None, **detail
) -> None:
    """Add a line to the trail, written with the transaction's commit.

    The lines of one transaction go in one multi-row INSERT just before it commits, in the
    order they were added: as ORM rows, each autoflush before a query wrote its own INSERT
    (4.5 statements per filing). Nothing reads the trail inside the transaction that writes it.
    A line belongs to the transaction under way (or to the one the session's next statement
    begins): rolled back or closed, it is gone with it, as an ORM row added would be."""
    session.info.setdefault(TRAIL, []).append(
        {"kind": kind, "intake_id": intake_id, "ticket_id": ticket_id, "detail": detail}
    )


@sa_event.listens_for(Session, "before_commit")
def _write_trail(session: Session) -> None:
    lines = session.info.pop(TRAIL, None)
    if lines:
        session.flush()  # the tickets the lines name are in the database first
        session.connection().execute(INSERT_EVENTS, lines)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_trail(session: Session, transaction) -> None:
    """A transaction ended without its commit (rolled back, or its session closed): its lines
    go with it, never into the session's next transaction."""
    if transaction.parent is None:
        session.info.pop(TRAIL, None)


def add_message(session: Session, intake: IntakeRow, ticket: TicketRow, content: Content) -> None:
    message = MessageRow(
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
    insert_row(session, message)
    session.info.setdefault(MESSAGES, {})[intake.id] = message  # held, for the acknowledgement


def message_of(session: Session, intake_id: str) -> MessageRow | None:
    """The message an intake was filed as: the one this session wrote, else read."""
    written = session.info.get(MESSAGES, {}).get(intake_id)
    if written is not None:
        return written
    return session.scalar(select(MessageRow).where(MessageRow.intake_id == intake_id))


def mail_defects(content: Content) -> list[str]:
    """What was wrong with the mail as received (a defective header line, bad base64…)."""
    return [storable(d[:500]) for d in content.defects if not d.startswith(PARSER_MARKER)][:50]


def record_ack(
    session: Session,
    intake: IntakeRow,
    ticket: TicketRow,
    plan: Plan,
    kind: str = "received",
    claimant: dict | None = None,
) -> list[int]:
    """Record the acknowledgement (pending, or skipped and why); with `claimant` (host and pid
    of the process filing it), a pending one is written already claimed by that process:
    `sending`, its first attempt counted, the `ack-claimed` line after `ack-pending` — what
    claiming it in the same transaction wrote, without an UPDATE of the row just inserted."""
    skip_reason = plan.skip_reason()
    status = "skipped" if skip_reason else "pending"
    metrics.ack_recorded(session, skip_reason)
    claimed = claimant is not None and status == "pending"
    ack = AckRow(
        ticket_id=ticket.id,
        intake_id=intake.id,
        kind=kind,
        recipient=plan.ack_recipient,
        status="sending" if claimed else status,
        attempts=1 if claimed else 0,
        skip_reason=skip_reason,
    )
    insert_row(session, ack)
    keep(session, ack)
    event(
        session,
        "ack-" + status,
        intake.id,
        ticket.id,
        recipient=plan.ack_recipient,
        reason=skip_reason,
        variant=plan.ack_variant,
    )
    if claimed:
        claim_line(session, intake.id, ticket.id, ack.id, claimant)
    return [ack.id] if status == "pending" else []


def claim_line(
    session: Session, intake_id: str, ticket_id: int, ack_id: int, claimant: dict
) -> None:
    """The trail line of a claim: who (host and pid) took the acknowledgement to send. The
    sweeper reads the last one to tell a dead sender's claim from a live one."""
    event(session, ACK_CLAIMED, intake_id, ticket_id, ack_id=ack_id, **claimant)


def record_page(
    session: Session,
    intake: IntakeRow,
    ticket: TicketRow,
    plan: Plan,
    new_ticket: bool = False,
    claimant: dict | None = None,
) -> tuple[list[int], list[ClaimedPage]]:
    """The ticket's page, when the plan has one and the ticket has none yet (a ticket opened
    in this transaction has none: not looked up): (pages scheduled, pages claimed).

    With `claimant` (host and pid of the process filing), a page already due is written
    claimed by that process — `sending`, the `page-claimed` line after `page-scheduled` — as
    claiming it in a transaction of its own wrote, and sent by the filing process once this
    commit is done (`workers.paging.send_claimed`); a page due later is only scheduled."""
    if plan.page_at is None:
        return [], []
    if not new_ticket and session.scalar(select(PageRow.id).where(PageRow.ticket_id == ticket.id)):
        return [], []
    refused = plan.page_refusal_now()
    if refused:  # an unknown sender's page past its budget: the support desk looks instead
        note = (
            f"urgent, but not paged ({refused}, sender {plan.sender_trust}): for the support desk"
        )
        ticket.review = storable("; ".join(filter(None, (ticket.review, note))))
        event(session, "page-limited", intake.id, ticket.id, reason=refused)
        metrics.page_limited(session)
        return [], []
    due_now = claimant is not None and plan.page_at <= utcnow() + timedelta(seconds=DUE_SLACK)
    page = insert_row(
        session,
        PageRow(
            ticket_id=ticket.id,
            due_at=plan.page_at,
            sender_trust=plan.sender_trust,
            status="sending" if due_now else "scheduled",
        ),
    )
    event(
        session,
        "page-scheduled",
        intake.id,
        ticket.id,
        due_at=plan.page_at.isoformat(),
        sender_trust=plan.sender_trust,
    )
    if not due_now:
        return [page.id], []
    # Who claimed it: the sweeper tells the desk of a page whose claimant died before its
    # outcome was recorded (`workers.sweeper._abandoned_pages`).
    event(session, PAGE_CLAIMED, None, ticket.id, page_id=page.id, **claimant)
    claimed = ClaimedPage(
        page.id,
        ticket.id,
        ticket.number,
        ticket.client_number,
        ticket.subject,
        ticket.urgency,
        plan.sender_trust,
    )
    return [], [claimed]


_MARK_SENT = (
    update(ACKS)
    .where(ACKS.c.id == bindparam("ack_id"))
    .values(
        status="sent",
        sent_at=bindparam("sent_at_now"),
        message_id=bindparam("sent_message_id"),
        subject=bindparam("sent_subject"),
        error=None,
    )
    .returning(ACKS.c.intake_id, ACKS.c.ticket_id, ACKS.c.recipient)
)


def record_sent(session: Session, ack_id: int, message_id: str, subject: str) -> str:
    """One UPDATE … RETURNING and its trail line; whose intake the acknowledgement answers."""
    values = {
        "ack_id": ack_id,
        "sent_at_now": utcnow(),
        "sent_message_id": message_id,
        "sent_subject": storable(subject),
    }
    ack = session.connection().execute(_MARK_SENT, values).one()
    event(
        session,
        "ack-sent",
        ack.intake_id,
        ack.ticket_id,
        recipient=ack.recipient,
        message_id=message_id,
    )
    return ack.intake_id
