"""Build the template context of an acknowledgement from a ticket, its decision and its guidance."""

from __future__ import annotations

from datetime import datetime, timedelta

from ingest.model import Decision
from ingest.reading.subjects import strip_reply_prefixes
from workers.acks.excerpt import subject_excerpt
from workers.acks.render import clean_subject
from workers.acks.wording import asked_explicitly, team_alerted
from workers.escalation.calendar import next_covered
from workers.escalation.guidance import Guidance, PhoneLine
from workers.escalation.policy import Policy, default_policy

# Always ask an unverified sender for both items: asking for one only would tell them
# which of the two matched (no account enumeration, DESIGN §3).
IDENTITY_ITEMS = ["client_number", "contact_name"]
MINIMAL_SUBJECT_CHARS = 80  # the default of settings.ack_minimal_subject_chars


def _local(moment: datetime | None, policy: Policy) -> datetime | None:
    """Aware and in the policy's time zone (a naive moment is taken as local time)."""
    if moment is None:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        return moment.replace(tzinfo=policy.timezone)
    return moment.astimezone(policy.timezone)


def thread_subject(subject: str, tag: str) -> str:
    """The customer's subject without our tag and without Re:/Fwd:/TR: prefixes."""
    stripped = strip_reply_prefixes(subject).replace(tag, " ") if tag else subject
    return strip_reply_prefixes(stripped)


def handling(decision: Decision, verified: bool, guidance: Guidance) -> str:
    """ "routine", "urgent" or "ineligible"; an unverified sender never learns eligibility."""
    urgency = decision.urgency
    if not (urgency.requested or urgency.level == "urgent"):
        return "routine"
    if verified and urgency.eligible is False:
        return "ineligible"
    if verified and guidance.gti_deadline is None:
        return "routine"  # the guidance was computed for a routine request: say nothing urgent
    return "urgent"


def _hhmm(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _support_coverage(policy: Policy) -> str | None:
    """The contract coverage whose covered hours are the support desk's hours."""
    return next((c for c, s in policy.coverage.items() if s == policy.support_schedule), None)


def support_block(received: datetime, open_now: bool, policy: Policy) -> dict:
    """Support desk hours on business days and its next opening when closed now."""
    schedule = policy.schedules[policy.support_schedule]
    coverage = _support_coverage(policy)
    reopens = None
    if not open_now and coverage:
        reopens = next_covered(received, coverage, policy=policy)
    return {
        "open_now": open_now,
        "hours": [{"start": _hhmm(s.start), "end": _hhmm(s.end)} for s in schedule.business_days],
        "next_open": reopens,
    }


def _phone(line: PhoneLine, policy: Policy) -> dict:
    return {
        "key": line.key,
        "number": line.number,
        "label": dict(line.label),
        "fee": line.fee,
        "opens_at": _local(line.opens_at, policy),
        "closes_at": _local(line.closes_at, policy),
    }


def guidance_block(guidance: Guidance, escalates: bool, policy: Policy) -> dict:
    """The guidance as template data; deadline, page time and phones only when it escalates."""
    deadline = _local(guidance.gti_deadline, policy) if escalates else None
    phones_from = _local(guidance.phones_from, policy) if escalates else None
    return {
        "received_at": _local(guidance.received_at, policy),
        "support_open": guidance.support_open,
        "covered_now": guidance.covered_now,
        "gti_deadline": deadline,
        "phones": [_phone(p, policy) for p in guidance.phones] if escalates else [],
        "phones_from": phones_from,
        "deadline_in_gap": bool(deadline and phones_from and phones_from > deadline),
        "oncall_page_at": _local(guidance.oncall_page_at, policy) if escalates else None,
        "page_now": guidance.page_now and escalates,
        "team": team_alerted(guidance.oncall_page_at, policy) if escalates else None,
        "work_starts_at": _local(guidance.work_starts_at, policy),
        "incidents_url": guidance.incidents_url,
        "portal_url": guidance.portal_url,
    }


def links_block(guidance: Guidance, policy: Policy) -> dict:
    return {
        "incidents_url": guidance.incidents_url,
        "portal_url": guidance.portal_url,
        "portal_name": policy.portal_name,
        "portal_former_name": policy.portal_former_name,
    }


def scenario_name(verified: bool, kind: str, support_open: bool, in_gap: bool) -> str:
    """e.g. "verified-urgent-offhours", "verified-urgent-inhours-gap"."""
    parts = [
        "verified" if verified else "unverified",
        kind,
        "inhours" if support_open else "offhours",
    ]
    return "-".join(parts + (["gap"] if in_gap else []))


def _identity(decision: Decision, verified: bool) -> tuple[dict, dict]:
    ident = decision.identity
    identity = {
        "verified": verified,
        "missing": [] if verified else list(IDENTITY_ITEMS),
        "client_number": ident.client_number if verified else None,
    }
    return identity, {"name": ident.contact_name if verified else None}


def _urgency(decision: Decision, verified: bool, kind: str) -> dict:
    return {
        "level": "urgent" if kind == "urgent" else "routine",
        "requested": kind != "routine" and asked_explicitly(decision.urgency),
        "eligible": decision.urgency.eligible if verified else None,
        "handling": kind,
    }


def build_context(
    *,
    ticket_number: int | str,
    tag: str,
    subject: str,
    decision: Decision,
    guidance: Guidance,
    received_at: datetime,
    policy: Policy | None = None,
    ack_kind: str = "received",
    channel: str = "smtp",
    reference: str | None = None,
    variant: str = "full",
    excerpt_chars: int = MINIMAL_SUBJECT_CHARS,
) -> dict:
    """The documented template context (docs/templates.md); customer text is data only.

    `variant` "minimal" (a sender nobody has shown to be the customer's, workers/trust_gate.py):
    the context of an unverified request whatever the identity, the subject cut to a short
    excerpt with no link, no reference, nothing asked about the request itself."""
    policy = policy or default_policy()
    minimal = variant == "minimal"
    verified = decision.identity.status == "verified" and not minimal
    kind = handling(decision, verified, guidance)
    received = _local(received_at, policy)
    guide = guidance_block(guidance, verified and kind == "urgent", policy)
    identity, contact = _identity(decision, verified)
    line = subject_excerpt(subject, excerpt_chars) if minimal else clean_subject(subject, 10_000)
    reference = None if minimal else reference
    missing = [] if minimal else list(decision.category.missing)
    return {
        "ticket": {"number": str(ticket_number), "tag": clean_subject(tag)},
        "request": {
            "subject": line,
            "thread_subject": thread_subject(line, tag),
            "received_at": received,
            "language": decision.language,
            "channel": channel,
            "reference": reference,
        },
        "kind": ack_kind,  # "received", or "identified": a reply identified the requester
        "ack": {"variant": variant},  # "full", or "minimal": to a sender of unknown trust
        "identity": identity,
        "contact": contact,
        "urgency": _urgency(decision, verified, kind),
        "category": {"missing": missing},
        "guidance": guide,
        "support": support_block(received, guidance.support_open, policy),
        "links": links_block(guidance, policy),
        "scenario": scenario_name(verified, kind, guidance.support_open, guide["deadline_in_gap"]),
    }
