"""`guichet explain`: a dry run of intake on one message — every decision, why, and the acknowledgement."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from ingest.analysis import Analysis, Envelope
from ingest.edges.addresses import AddressBook
from ingest.edges.stored_mail import stored_envelope
from ingest.model import Decision
from workers.acks.context import build_context
from workers.acks.live import render_ack
from workers.escalation.contract import guidance_for_decision
from workers.escalation.guidance import Guidance
from workers.escalation.policy import default_policy
from workers.running.runtime import Runtime
from workers.store.threading import tag_for
from workers.trust_gate import FULL, NONE, ack_choice, page_is_limited

PREVIEW_NUMBER = 999999  # stands for the ticket number a real intake would get


def envelope_for_file(
    raw: bytes,
    rt: Runtime,
    at: datetime,
    sender: str | None = None,
    recipients: list[str] | None = None,
) -> Envelope:
    """The envelope a file would have arrived with: Return-Path and our addresses among the recipients."""
    book = AddressBook(rt.settings.support_addresses, rt.settings.urgent_addresses)
    envelope = stored_envelope(
        raw,
        book,
        channel="smtp",
        received_at=at,
        default_recipient=rt.settings.support_addresses[0],
    )
    envelope.sender = envelope.sender if sender is None else sender
    envelope.recipients = envelope.recipients if recipients is None else recipients
    return envelope


def explain(rt: Runtime, raw: bytes, envelope: Envelope) -> dict:
    analysis = rt.analyser.mail(raw, envelope)
    guidance = guidance_for_decision(analysis.decision, rt.directory, envelope.received_at)
    return report(rt, analysis, guidance, envelope)


def report(rt: Runtime, analysis: Analysis, guidance: Guidance, envelope: Envelope) -> dict:
    d = analysis.decision
    identity = asdict(d.identity)
    out = {
        "received_at": envelope.received_at.isoformat(),
        "envelope": {"sender": envelope.sender, "recipients": envelope.recipients},
        "identity": identity,
        "urgency": d.urgency.level,
        "urgent_requested": d.urgency.requested,
        "urgency_detail": asdict(d.urgency),
        "category": asdict(d.category),
        "language": d.language,
        "acknowledge": d.suppression.acknowledge,
        "skip_reason": d.suppression.skip_reason,
        "queue": "tickets.urgent" if d.urgency.level == "urgent" else "tickets.routine",
        "guidance": guidance_json(guidance),
        "trail": [asdict(f) for f in d.trail],
        "parse_error": analysis.error,
        "sender_trust": {"trust": d.identity.sender_trust, "why": d.identity.trust_why},
        "ack_variant": ack_variant(d),
        "page": page_plan(rt, d, guidance),
        "ack": None,
    }
    if d.suppression.acknowledge and out["ack_variant"]["variant"] != NONE:
        out["ack"] = preview_ack(rt, analysis, guidance, envelope, out["ack_variant"]["variant"])
    return out


def ack_variant(d: Decision) -> dict:
    if not d.suppression.acknowledge:
        return {"variant": NONE, "why": f"never acknowledged: {d.suppression.skip_reason}"}
    choice = ack_choice(d)
    return {"variant": choice.variant, "why": choice.why}


def page_plan(rt: Runtime, d: Decision, guidance: Guidance) -> dict:
    """Whether a page would be sent and whether the unknown-sender budget applies (a dry run:
    the budget itself is neither read nor spent)."""
    s = rt.settings
    limited = guidance.oncall_page_at is not None and page_is_limited(d)
    limit = (
        f"sender {d.identity.sender_trust}: the page says so, and at most "
        f"{s.page_unknown_per_account} per account and {s.page_unknown_total} in all per hour; "
        "past that the ticket goes to the support desk instead"
    )
    return {
        "at": guidance.oncall_page_at.isoformat() if guidance.oncall_page_at else None,
        "limit_applies": limited,
        "limit": limit if limited else None,
    }


def preview_ack(
    rt: Runtime, analysis: Analysis, guidance: Guidance, envelope: Envelope, variant: str = FULL
) -> dict:
    subject = analysis.content.subject if analysis.content else ""
    context = build_context(
        ticket_number=PREVIEW_NUMBER,
        tag=tag_for(rt.settings.ticket_tag, PREVIEW_NUMBER),
        subject=subject,
        decision=analysis.decision,
        guidance=guidance,
        received_at=envelope.received_at,
        variant=variant,
        excerpt_chars=rt.settings.ack_minimal_subject_chars,
    )
    rendered = render_ack(context, analysis.decision.language)
    return {
        "to": envelope.sender,
        "subject": rendered.subject,
        "text": rendered.text,
        "scenario": context.get("scenario"),
        "ticket_number_placeholder": PREVIEW_NUMBER,
    }


def guidance_json(g: Guidance) -> dict:
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return {
        "gti_deadline": iso(g.gti_deadline),
        "phones": [
            {
                "key": p.key,
                "number": p.number,
                "label": p.label,
                "fee": p.fee,
                "opens_at": iso(p.opens_at),
                "closes_at": iso(p.closes_at),
            }
            for p in g.phones
        ],
        "phones_from": iso(g.phones_from),
        "oncall_page_at": iso(g.oncall_page_at),
        "page_now": g.page_now,
        "work_starts_at": iso(g.work_starts_at),
        "support_open": g.support_open,
        "covered_now": g.covered_now,
        "incidents_url": g.incidents_url,
    }


def parse_at(value: str | None) -> datetime:
    """ISO-8601; a moment without offset is taken in the policy's time zone (Europe/Paris)."""
    tz = default_policy().timezone
    if not value:
        return datetime.now(tz)
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)
