"""create_ticket's work: one stored intake becomes one ticket (or joins one), exactly once."""

from __future__ import annotations

import functools
import logging
from dataclasses import replace

from sqlalchemy.orm import Session

from ingest.analysis import Envelope, worth_another_look
from ingest.model import Content, Decision, decision_from_dict
from ingest.reading.contents import content_from
from ingest.second_look import SecondLook
from workers.escalation.contract import guidance_for_decision
from workers.running.runtime import Runtime, rules_for, sql_directory
from workers.store.schema import IntakeRow
from workers.store.tickets import Outcome, Plan, file_intake, pending_work

log = logging.getLogger("guichet.filing")


class IntakeMissing(Exception):
    """The id on the queue has no stored intake (never retried: nothing to do)."""


def file(rt: Runtime, intake_id: str) -> Outcome:
    with rt.sessions.begin() as session:
        intake = _lock(session, intake_id)
        if intake.status in ("ticketed", "duplicate"):
            return pending_work(session, intake)
        content, decision = _content_and_decision(rt, intake)
        plan = _plan(rt, intake, content, decision)
        outcome = file_intake(session, intake, content, decision, plan, rt.settings.ticket_tag)
    log.info(
        "intake filed",
        extra={
            "intake_id": intake_id,
            "ticket": outcome.number,
            "new_ticket": outcome.created,
            "duplicate": outcome.duplicate,
        },
    )
    return outcome


def _lock(session: Session, intake_id: str) -> IntakeRow:
    intake = session.get(IntakeRow, intake_id, with_for_update=True)
    if intake is None:
        raise IntakeMissing(intake_id)
    return intake


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
        content = content_from(
            intake.channel,
            intake.raw,
            sender=intake.envelope_sender,
            recipients=intake.recipients,
            client_ip=intake.client_ip,
        )
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


def _plan(rt: Runtime, intake: IntakeRow, content: Content, decision: Decision) -> Plan:
    guidance = guidance_for_decision(decision, rt.directory, intake.received_at)
    recipient = _ack_recipient(intake, content)
    return Plan(
        ack_recipient=recipient,
        ack_skip_reason=_skip_reason(rt, decision, recipient),
        page_at=guidance.oncall_page_at,
        gti_deadline=guidance.gti_deadline,
    )


def _ack_recipient(intake: IntakeRow, content: Content) -> str:
    """Mail: the envelope sender (Return-Path). Webhook: the contact's declared address."""
    if intake.channel == "webhook":
        return (content.declared.get("contact_email") or content.from_address or "").strip()
    return intake.envelope_sender.strip()


def _skip_reason(rt: Runtime, decision: Decision, recipient: str) -> str | None:
    if not decision.suppression.acknowledge:
        return decision.suppression.skip_reason or "suppressed"
    if not recipient:
        return "no-recipient"
    if not rt.ack_limiter.allow(recipient):
        return "rate-limited"
    return None
