"""create_ticket's work: one stored intake becomes one ticket (or joins one), exactly once."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ingest.analysis import Envelope, worth_another_look
from ingest.model import Content, Decision, decision_from_dict
from ingest.second_look import SecondLook
from workers import acknowledge, metrics
from workers.escalation.contract import account_of, guidance_for_decision
from workers.pids import claimant
from workers.running.runtime import Runtime, rules_for, sql_directory
from workers.store.journal import intake_content
from workers.store.schema import IntakeRow, TicketRow
from workers.store.threading import unfiled_parents
from workers.store.tickets import (
    Confirm,
    Outcome,
    Plan,
    file_intake,
    opens_ticket,
    pending_work,
)
from workers.trust_gate import IDENTIFIED, MINIMAL, RECEIVED, ack_choice, page_is_limited

log = logging.getLogger("guichet.filing")
FILED = ("ticketed", "duplicate")
# The intake columns written after the edge stored it (by filings and the journal).
CHANGING = ("status", "ticket_id", "attempts", "error", "queue", "updated_at")
MAX_DEPTH = 5  # a reply filing its unfiled parent, which files its own, and so on


class IntakeMissing(Exception):
    """The id on the queue has no stored intake (never retried: nothing to do)."""


@dataclass
class Prepared:
    """What filing one intake needs that takes time (parsing, rules, guidance): worked out
    before the write lock, so a filing holds the lock only for its few reads and writes."""

    intake_id: str
    row: IntakeRow  # as read for the preparation (detached): its content columns never change
    content: Content
    decision: Decision
    plan: Plan
    confirm: Confirm
    parents: list[Prepared] = field(default_factory=list)


def file(rt: Runtime, intake_id: str) -> Outcome:
    with rt.sessions() as session:
        intake = session.get(IntakeRow, intake_id)
        if intake is None:
            raise IntakeMissing(intake_id)
        if intake.status in FILED:  # a redelivery: nothing to write, no lock to take
            return pending_work(session, intake)
        prepared = _prepare_new(rt, session, intake)
    filed: list[tuple[str, Outcome]] = []
    with rt.sessions() as session:
        with session.begin():
            intake = _lock(session, intake_id, prepared.row)
            if intake.status in FILED:
                return pending_work(session, intake)
            # The new acknowledgements are recorded claimed by this process, in this commit.
            outcome = _file_locked(rt, session, intake, prepared, filed)
            claimed, outcome.ack_ids = outcome.ack_ids, []
        # Committed, the write turn given back: the claimed acknowledgements are built from
        # the rows still in hand, and the caller delivers `outcome.ready` at once.
        outcome.ready, given_back = acknowledge.build_claimed(rt, session, claimed)
        outcome.ack_ids += given_back
    _log_filed(filed)
    return outcome


def _prepare_new(rt: Runtime, session: Session, intake: IntakeRow) -> Prepared:
    """The preparation, and the sender's acknowledgement limit asked now (Redis, outside the
    write lock) when the intake is about to open a ticket; a reply or a copy asks nothing."""
    prepared = _prepare(rt, session, intake, 0)
    tag = rt.settings.ticket_tag
    if not prepared.parents and opens_ticket(
        session, intake, prepared.content, prepared.decision, tag, duplicate_window(rt)
    ):
        prepared.plan.settle_limit()
    return prepared


def _log_filed(filed: list[tuple[str, Outcome]]) -> None:
    for intake_id, done in filed:
        metrics.filed(intake_id, done)
        log.info(
            "intake filed",
            extra={
                "intake_id": intake_id,
                "ticket": done.number,
                "new_ticket": done.created,
                "duplicate": done.duplicate,
            },
        )


def _prepare(rt: Runtime, session: Session, intake: IntakeRow, depth: int) -> Prepared:
    content, decision = _content_and_decision(rt, intake)
    prepared = Prepared(
        intake.id,
        intake,
        content,
        decision,
        _plan(rt, intake, content, decision),
        _confirmation(rt, intake, content, decision),
    )
    if depth < MAX_DEPTH:
        prepared.parents = [
            _prepare(rt, session, parent, depth + 1)
            for parent in unfiled_parents(session, content, intake)
        ]
    return prepared


def _file_locked(
    rt: Runtime, session: Session, intake: IntakeRow, prepared: Prepared, filed: list
) -> Outcome:
    """File `intake`, after any earlier intake it replies to that is stored but not filed yet:
    whichever worker runs first, a reply ends on its parent's ticket."""
    earlier = Outcome(None)
    known = {parent.intake_id for parent in prepared.parents}
    late = [  # stored after the preparation read: rare, prepared under the lock
        _prepare(rt, session, row, MAX_DEPTH)
        for row in unfiled_parents(session, prepared.content, intake)
        if row.id not in known
    ]
    for parent in prepared.parents + late:
        row = _lock(session, parent.intake_id, parent.row)
        if row.status not in FILED:
            earlier.add_work(_file_locked(rt, session, row, parent, filed))
    p = prepared
    tag = rt.settings.ticket_tag
    outcome = file_intake(
        session,
        intake,
        p.content,
        p.decision,
        lambda: p.plan,
        tag,
        p.confirm,
        duplicate_window(rt),
        claimant=claimant(),
    )
    filed.append((intake.id, outcome))
    outcome.add_work(earlier)
    return outcome


def duplicate_window(rt: Runtime) -> timedelta:
    """How long content alone (no Message-ID, no partner reference) makes a copy."""
    return timedelta(hours=rt.settings.duplicate_window_hours)


def _locks() -> dict[str, Any]:
    """The statement that locks an intake, by dialect, built once. On SQLite, a no-op write in
    Core (no ORM bulk-update machinery) that returns the columns that change (no SELECT after
    it); on PostgreSQL, SELECT … FOR UPDATE."""
    intakes = IntakeRow.__table__
    changing = [intakes.c[name] for name in CHANGING]
    this = intakes.c.id == bindparam("lock_id")
    return {
        "sqlite": update(intakes)
        .values(attempts=intakes.c.attempts)
        .returning(*changing)
        .where(this),
        "postgresql": select(*changing).with_for_update().where(this),
    }


_LOCKS = _locks()


def _lock(session: Session, intake_id: str, known: IntakeRow) -> IntakeRow:
    """The intake, locked until commit. On SQLite the first statement is a write, which takes
    the database's write lock now: filings run one at a time and each sees the last one's work.

    Only the columns a filing changes are read again; the rest is taken from `known` (the row
    as the preparation read it): the raw mail and the decision are written once, by the edge,
    and are not fetched and decoded a second time."""
    connection = session.connection()
    current = connection.execute(_LOCKS[connection.dialect.name], {"lock_id": intake_id}).first()
    if current is None:
        raise IntakeMissing(intake_id)
    intake = _attach(session, known)
    for name, value in current._mapping.items():
        set_committed_value(intake, name, value)
    return intake


def _attach(session: Session, known: IntakeRow) -> IntakeRow:
    """`known` in this session: itself when the session holds no copy of that row yet (the
    usual case; a merge copied every column, the raw mail included, inside the write turn),
    else the session's copy brought up to `known` (a parent the session's query loaded)."""
    state = inspect(known)
    if state.detached and session.identity_map.get(state.key) is None:
        session.add(known)
        return known
    return session.merge(known, load=False)


def _content_and_decision(rt: Runtime, intake: IntakeRow) -> tuple[Content, Decision]:
    """The stored decision (made at the edge); analysed again only if the edge could not."""
    envelope = Envelope(
        intake.channel,
        intake.envelope_sender,
        list(intake.recipients),
        intake.received_at,
        intake.client_ip,
        intake.partner,
    )
    try:
        content = intake_content(intake)
    except Exception as exc:  # unreadable even here: a ticket for review with the raw kept
        log.error("stored intake unreadable: %s", exc, extra={"intake_id": intake.id})
        content = Content(
            channel=intake.channel,
            envelope_sender=intake.envelope_sender,
            recipients=list(intake.recipients),
        )
    if intake.decision is None:
        return content, rt.analyser.mail(intake.raw, envelope).decision
    decision = decision_from_dict(intake.decision)
    if worth_another_look(decision):  # out of time at the edge: a larger budget here
        log.info("second analysis of a timed-out intake", extra={"intake_id": intake.id})
        again = _second_look(rt.settings)
        if intake.channel == "webhook":
            return content, again.content(content, envelope, intake.raw).decision
        return content, again.mail(intake.raw, envelope).decision
    return content, decision


def _second_look(settings) -> SecondLook:
    rules = replace(rules_for(settings), time_limit=settings.parse_retry_timeout)
    return _second_look_for(settings.database, rules)


@functools.cache
def _second_look_for(database: str, rules) -> SecondLook:
    """One second-analysis process per worker process (started when first needed)."""
    return SecondLook(functools.partial(sql_directory, database), rules)


def _plan(
    rt: Runtime, intake: IntakeRow, content: Content, decision: Decision, kind: str = RECEIVED
) -> Plan:
    guidance = guidance_for_decision(decision, rt.directory, intake.received_at)
    recipient = _ack_recipient(intake, content)
    choice = ack_choice(decision, kind)
    minimal = choice.variant == MINIMAL
    return Plan(
        ack_recipient=recipient,
        ack_skip_reason=_skip_reason(decision, recipient) or choice.skip_reason,
        ack_variant=f"{choice.variant}: {choice.why}",
        ack_refusal=lambda to: rt.ack_limiter.refusal(to, minimal),
        page_at=None if intake.channel == "replay" else guidance.oncall_page_at,  # past mail
        gti_deadline=guidance.gti_deadline,
        urgency=decision.urgency.level,
        page_refusal=_page_budget(rt, decision) if page_is_limited(decision) else None,
        sender_trust=decision.identity.sender_trust,
    )


def _page_budget(rt: Runtime, decision: Decision):
    return lambda: rt.page_limiter.refusal(decision.identity.client_number)


def _confirmation(rt: Runtime, intake: IntakeRow, content: Content, decision: Decision) -> Confirm:
    """The plan of the confirmation sent when this reply identifies the ticket's requester:
    the guidance that now applies, from the ticket's own request and the account now known."""

    def plan(ticket: TicketRow) -> Plan:
        urgency = reidentified_urgency(rt, ticket, decision)
        return _plan(rt, intake, content, replace(decision, urgency=urgency), IDENTIFIED)

    return plan


def reidentified_urgency(rt: Runtime, ticket: TicketRow, decision: Decision):
    """Urgent when the ticket's request (or this reply) asked for it and the account now known may have it."""
    account = account_of(decision, rt.directory)
    eligible = bool(account and account.urgent_eligible)
    asked = ticket.urgent_requested or decision.urgency.requested
    level = "urgent" if asked and eligible else "routine"
    return replace(decision.urgency, level=level, requested=asked, eligible=eligible)


def _ack_recipient(intake: IntakeRow, content: Content) -> str:
    """Mail: the envelope sender (Return-Path). Webhook: the contact's declared address."""
    if intake.channel == "webhook":
        return (content.declared.get("contact_email") or content.from_address or "").strip()
    return intake.envelope_sender.strip()


def _skip_reason(decision: Decision, recipient: str) -> str | None:
    if not decision.suppression.acknowledge:
        return decision.suppression.skip_reason or "suppressed"
    return None if recipient else "no-recipient"
