"""What the ticket page shows: each stored mail, the decision and the rules behind it (as `guichet
explain` reports it), sender trust, the acknowledgement sent or why none, the on-call page, the thread."""

from __future__ import annotations

import email.policy
import json
from email.parser import BytesHeaderParser

from sqlalchemy import select

from ingest.analysis import Analysis, Envelope
from ingest.model import decision_from_dict
from workers.acks.context import build_context
from workers.acks.overlay import overlay
from workers.acks.render import CompiledSet, load_sources, templates_dir
from workers.escalation.contract import guidance_for_decision
from workers.explaining import report
from workers.running.runtime import Runtime
from workers.store import template_versions
from workers.store.queries import ticket_detail
from workers.store.schema import AckRow, IntakeRow, MessageRow, TicketRow
from workers.store.threading import tag_for

MAX_HEADERS = 200
MAX_HEADER_VALUE = 2000
MAX_RAW_SHOWN = 20_000
TRUST_KEYS = ("trust", "sender_trust")


def headers_of(raw: bytes) -> list[tuple[str, str]]:
    """The header lines of a stored mail, decoded, bounded in number and length."""
    try:
        parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(raw[:262_144])
        items = [(k, str(v)) for k, v in parsed.raw_items()][:MAX_HEADERS]
    except Exception:  # a header so broken that decoding fails: show what compat32 keeps
        parsed = BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw[:262_144])
        items = [(k, str(v)) for k, v in parsed.items()][:MAX_HEADERS]
    return [(k[:200], " ".join(v.split())[:MAX_HEADER_VALUE]) for k, v in items]


def trust_of(decision: dict) -> dict:
    """Whatever sender-trust verdict the decision holds (by either of its usual names)."""
    identity = decision.get("identity", {})
    for source in (decision, identity):
        for key in TRUST_KEYS:
            if source.get(key) is not None:
                return {key: source[key]}
    return {}


def explained(rt: Runtime, intake: IntakeRow) -> dict:
    """`guichet explain`'s report for the decision stored at intake (not a fresh one)."""
    decision = decision_from_dict(intake.decision or {})
    guidance = guidance_for_decision(decision, rt.directory, intake.received_at)
    envelope = Envelope(
        intake.channel, intake.envelope_sender, list(intake.recipients or []),
        intake.received_at, intake.client_ip, intake.partner,
    )  # fmt: skip
    analysis = Analysis(decision, intake.dedup_key, intake.message_id, error=intake.error)
    found = report(rt, analysis, guidance, envelope)
    found.pop("ack", None)  # a preview with a stand-in number; the page shows the real one
    return found


def _mail(rt: Runtime, intake: IntakeRow | None, message: dict) -> dict:
    if intake is None:
        return {**message, "headers": [], "raw_json": "", "explain": None, "trust": {}}
    raw_json = ""
    if intake.channel != "smtp" and intake.raw[:1] in (b"{", b"["):
        raw_json = intake.raw[:MAX_RAW_SHOWN].decode("utf-8", "replace")
    headers = [] if raw_json else headers_of(intake.raw)
    return {
        **message,
        "channel": intake.channel,
        "received_at": intake.received_at,
        "envelope_sender": intake.envelope_sender,
        "recipients": intake.recipients,
        "headers": headers,
        "raw_json": raw_json,
        "explain": explained(rt, intake) if intake.decision else None,
        "trust": trust_of(intake.decision or {}),
    }


def rerendered(rt: Runtime, session, ticket: TicketRow, ack: AckRow) -> dict | None:
    """A sent acknowledgement rendered again from the template version live when it was sent."""
    intake = session.get(IntakeRow, ack.intake_id)
    if ack.status != "sent" or intake is None or not intake.decision:
        return None
    version = template_versions.live_at(session, ack.sent_at)
    sources = overlay(load_sources(templates_dir()), dict(version.overrides) if version else {})
    decision = decision_from_dict(intake.decision)
    context = build_context(
        ticket_number=ticket.number, tag=tag_for(rt.settings.ticket_tag, ticket.number),
        subject=ack_subject_source(session, intake), decision=decision,
        guidance=guidance_for_decision(decision, rt.directory, intake.received_at),
        received_at=intake.received_at,
    )  # fmt: skip
    rendered = CompiledSet(sources).render(context, decision.language)
    return {"version": version.id if version else 0, "text": rendered.text}


def ack_subject_source(session, intake: IntakeRow) -> str:
    """The customer's subject, as the acknowledgement was built from it."""
    row = session.scalar(select(MessageRow).where(MessageRow.intake_id == intake.id))
    return row.subject if row else ""


def ticket_page(rt: Runtime, number: int) -> dict | None:
    with rt.sessions() as session:
        detail = ticket_detail(session, number)
        if detail is None:
            return None
        ticket = session.scalar(select(TicketRow).where(TicketRow.number == number))
        detail["messages"] = [
            _mail(rt, session.get(IntakeRow, m["intake_id"]), m) for m in detail["messages"]
        ]
        acks = session.scalars(
            select(AckRow).where(AckRow.ticket_id == ticket.id).order_by(AckRow.id)
        )
        detail["acknowledgements"] = [
            {**shown, "rendered": rerendered(rt, session, ticket, row)}
            for shown, row in zip(detail["acknowledgements"], acks, strict=True)
        ]
        detail["trail_json"] = [
            {**e, "detail": json.dumps(e["detail"], ensure_ascii=False, default=str)[:1000]}
            for e in detail["trail"]
        ]
        return detail
