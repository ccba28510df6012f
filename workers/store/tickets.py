"""Turn a stored intake into a ticket (new or threaded), once, with its acknowledgement and page rows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.model import Content, Decision
from workers.store import dedup_claims, threading
from workers.store.journal import storable
from workers.store.records import (
    ClaimedPage,
    Plan,
    add_message,
    event,
    keep,
    record_ack,
    record_page,
)
from workers.store.row_writes import insert_row, update_row
from workers.store.schema import (
    AckRow,
    IntakeRow,
    MessageRow,
    PageRow,
    TicketLinkRow,
    TicketRow,
    utcnow,
)

TICKET_NUMBER_OFFSET = 100000  # ticket numbers have 6+ digits: never mistaken for a client number


@dataclass
class Outcome:
    ticket_id: int | None
    number: int | None = None
    created: bool = False
    duplicate: bool = False
    ack_ids: list[int] = field(default_factory=list)  # pending acknowledgements to send
    page_ids: list[int] = field(default_factory=list)  # scheduled pages (due later, or left)
    # Pages due now, claimed in the filing's own transaction: sent right after its commit.
    pages_claimed: list[ClaimedPage] = field(default_factory=list)
    # Acknowledgements claimed in the filing's own transaction and built right after its
    # commit, to deliver now (`workers.acknowledge.Ready`); `ack_ids` are then only those left
    # for `send_ack`.
    ready: list = field(default_factory=list)

    def add_work(self, other: Outcome) -> None:
        """Take over what `other` (an earlier intake filed first) still has to send."""
        self.ack_ids += other.ack_ids
        self.page_ids += other.page_ids
        self.pages_claimed += other.pages_claimed


# The plan of the short confirmation a ticket gets when a reply identifies its requester.
Confirm = Callable[[TicketRow], Plan]


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


def file_intake(
    session: Session,
    intake: IntakeRow,
    content: Content,
    decision: Decision,
    make_plan: Callable[[], Plan],
    tag_label: str,
    confirm: Confirm | None = None,
    duplicate_window: timedelta | None = None,
    claimant: dict | None = None,
) -> Outcome:
    """Dedup, thread or create; then record the message, the acknowledgement and the page.

    The plan is asked for only when a new ticket is opened: a copy or a reply spends nothing.
    With `claimant`, the acknowledgements recorded, and a page already due, are claimed by it
    (`records.record_ack`, `records.record_page`)."""
    original = claim(session, intake, duplicate_window)
    if original is not None:
        return _file_duplicate(session, intake, original)
    sender = content.from_address or intake.envelope_sender
    match = threading.find_thread(session, content, decision.identity, sender, tag_label)
    if match.ticket is not None:
        return _join(session, intake, content, decision, match, confirm, claimant)
    plan = make_plan()
    ticket = _new_ticket(session, intake, content, decision, plan, tag_label)
    if match.refused is not None:
        _link(session, intake, ticket, match)
    add_message(session, intake, ticket, content)
    outcome = Outcome(ticket.id, ticket.number, created=True)
    outcome.ack_ids = record_ack(session, intake, ticket, plan, claimant=claimant)
    outcome.page_ids, outcome.pages_claimed = record_page(
        session, intake, ticket, plan, new_ticket=True, claimant=claimant
    )
    _filed(session, intake, "ticketed", ticket.id)
    return outcome


def opens_ticket(
    session: Session,
    intake: IntakeRow,
    content: Content,
    decision: Decision,
    tag_label: str,
    duplicate_window: timedelta | None = None,
) -> bool:
    """Whether filing `intake` now would open a new ticket (read only: a forecast, which a
    filing racing this one may prove wrong)."""
    claimed = dedup_claims.holder(session, intake)
    if claimed not in (None, intake.id) and not dedup_claims.expired(
        session, intake, duplicate_window
    ):
        return False
    sender = content.from_address or intake.envelope_sender
    return (
        threading.find_thread(session, content, decision.identity, sender, tag_label).ticket is None
    )


def claim(
    session: Session, intake: IntakeRow, window: timedelta | None = None
) -> MessageRow | None:
    """None when this intake is the first to file its content, else the message of the one
    that was (workers/store/dedup_claims.py: id-less content only within the window)."""
    winner = dedup_claims.claim(session, intake, window)
    if winner is None:
        return None
    return session.scalar(select(MessageRow).where(MessageRow.intake_id == winner))


def _filed(session: Session, intake: IntakeRow, status: str, ticket_id: int) -> None:
    update_row(session, intake, status=status, ticket_id=ticket_id, updated_at=utcnow())


def _join(
    session: Session,
    intake: IntakeRow,
    content: Content,
    decision: Decision,
    match: threading.ThreadMatch,
    confirm: Confirm | None,
    claimant: dict | None = None,
) -> Outcome:
    ticket = match.ticket
    event(session, "threaded", intake.id, ticket.id, via=match.via, sender_is=match.reason)
    add_message(session, intake, ticket, content)
    outcome = Outcome(ticket.id, ticket.number)
    if _reverify(session, intake, ticket, decision) and confirm is not None:
        plan = confirm(ticket)
        if plan.urgency:
            ticket.urgency, ticket.gti_deadline = plan.urgency, plan.gti_deadline
        outcome.ack_ids = record_ack(
            session, intake, ticket, plan, kind="identified", claimant=claimant
        )
        outcome.page_ids, outcome.pages_claimed = record_page(
            session, intake, ticket, plan, claimant=claimant
        )
    _filed(session, intake, "ticketed", ticket.id)
    return outcome


def _link(
    session: Session, intake: IntakeRow, ticket: TicketRow, match: threading.ThreadMatch
) -> None:
    """A message that names a ticket it may not join gets its own, linked to that one."""
    session.add(
        TicketLinkRow(ticket_id=ticket.id, linked_ticket_id=match.refused.id, intake_id=intake.id)
    )
    event(
        session,
        "thread-refused",
        intake.id,
        ticket.id,
        pointed_at=match.refused.number,
        why=match.why,
    )


def _file_duplicate(session: Session, intake: IntakeRow, original: MessageRow) -> Outcome:
    _filed(session, intake, "duplicate", original.ticket_id)
    event(session, "duplicate", intake.id, original.ticket_id, original_intake=original.intake_id)
    ticket = session.get(TicketRow, original.ticket_id)
    return Outcome(ticket.id, ticket.number, duplicate=True)


def _new_ticket(
    session: Session,
    intake: IntakeRow,
    content: Content,
    decision: Decision,
    plan: Plan,
    tag_label: str,
) -> TicketRow:
    identity = decision.identity
    ticket = TicketRow(
        subject=storable(threading.ticket_title(content.subject[:2000], tag_label)),
        channel=intake.channel,
        requester=storable((content.from_address or intake.envelope_sender).lower()),
        client_number=identity.client_number,
        account_known=identity.account_known,
        identity_status=identity.status,
        authorised=identity.status == "verified",
        contact_name=identity.contact_name,
        sender_authenticated=identity.sender_authenticated,
        sender_trust=identity.sender_trust,
        auth=identity.auth,
        urgency=decision.urgency.level,
        urgent_requested=decision.urgency.requested,
        language=decision.language,
        category=_category(decision),
        gti_deadline=plan.gti_deadline,
        review=storable(next((f.why for f in decision.trail if f.field == "review"), None)),
    )
    insert_row(session, ticket)  # one INSERT, no flush (workers/store/row_writes.py)
    keep(session, ticket)
    update_row(session, ticket, number=ticket.id + TICKET_NUMBER_OFFSET)
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


def _reverify(session: Session, intake: IntakeRow, ticket: TicketRow, decision: Decision) -> bool:
    """A reply that supplies the missing number and name authorises the ticket (True then)."""
    identity = decision.identity
    ticket.updated_at = utcnow()
    if ticket.identity_status == "verified" or identity.status != "verified":
        return False
    ticket.identity_status, ticket.authorised = "verified", True
    ticket.client_number, ticket.contact_name = identity.client_number, identity.contact_name
    ticket.account_known = True
    event(session, "reverified", intake.id, ticket.id, client_number=identity.client_number)
    return True
