"""Prometheus counters of the edges: what came in, how each edge answered, what was decided.

Labels take a handful of fixed values (an edge, an outcome, a reply code): never a client
number, an address or a partner name. `docs/metrics.md` describes every metric. In a
`guichet run` tree each process writes its values under `PROMETHEUS_MULTIPROC_DIR` (set by
the supervisor before the children start) and `/metrics` sums them."""

from __future__ import annotations

import functools

from prometheus_client import Counter

from ingest.analysis import Envelope
from ingest.model import Decision

INTAKES = Counter(
    "guichet_intakes",
    "Requests taken in, by edge (smtp, webhook, imap, replay) and outcome",
    ["channel", "outcome"],
)
SMTP_REPLIES = Counter(
    "guichet_smtp_replies", "SMTP replies given, by command and reply code", ["command", "code"]
)
IDENTITY = Counter(
    "guichet_identity_outcomes",
    "Decisions of durable intakes by identity: verified, unverified (known account), unknown",
    ["outcome"],
)
URGENCY = Counter(
    "guichet_urgency_outcomes",
    "Decisions of durable intakes by urgency: urgent, routine, ineligible (asked, not eligible)",
    ["outcome"],
)
TRUST = Counter("guichet_sender_trust", "Decisions of durable intakes by sender trust", ["trust"])
WEBHOOK_PROBLEMS = Counter(
    "guichet_webhook_problems", "Problem answers of the webhook edge, by problem type", ["kind"]
)
SIGNATURE_FAILURES = Counter(
    "guichet_webhook_signature_failures",
    "Webhook requests refused for their authentication, by reason",
    ["reason"],
)

TRUST_LEVELS = ("declared", "authenticated", "unknown", "failed")
ENVELOPE_COMMANDS = ("MAIL", "RCPT", "DATA")  # the commands whose refusal refuses a message
TEMPORARY_HTTP = (408, 409, 429)  # a partner retries these: throttled, not refused


@functools.cache
def child(metric, *values: str):
    """The labelled child, looked up once: `labels()` takes a lock and builds a key on each
    call, three times the cost of the increment itself. Label values are few by design."""
    return metric.labels(*values)


def channel_of(envelope: Envelope) -> str:
    """The edge: mail a partner forwarded over HTTP counts as webhook, whatever its envelope says."""
    return "webhook" if envelope.partner else envelope.channel


def took_in(envelope: Envelope, accepted: bool) -> None:
    """The funnel's answer: accepted, or deferred (not durable: the sender retries)."""
    child(INTAKES, channel_of(envelope), "accepted" if accepted else "deferred").inc()


def duplicate(channel: str) -> None:
    """A request recognised before the funnel (same webhook key, same stored bytes)."""
    child(INTAKES, channel, "duplicate").inc()


def decided(decision: Decision) -> None:
    """The one place a durable intake's decision is counted (identity, urgency, sender trust)."""
    child(IDENTITY, identity_outcome(decision)).inc()
    child(URGENCY, urgency_outcome(decision)).inc()
    child(TRUST, sender_trust(decision)).inc()


def identity_outcome(decision: Decision) -> str:
    identity = decision.identity
    if identity.status == "verified":
        return "verified"
    return "unverified" if identity.account_known else "unknown"


def urgency_outcome(decision: Decision) -> str:
    urgency = decision.urgency
    if urgency.level == "urgent":
        return "urgent"
    return "ineligible" if urgency.requested and urgency.eligible is False else "routine"


def sender_trust(decision: Decision) -> str:
    """HOOK for sender trust: `identity.sender_trust` (declared, authenticated, unknown, failed)
    once the Decision carries it; "unrecorded" until then. Any other value counts as "other",
    so the label stays small."""
    trust = getattr(decision.identity, "sender_trust", None)
    if trust is None:
        return "unrecorded"
    return trust if trust in TRUST_LEVELS else "other"


def smtp_reply(status: str, command: str) -> None:
    """One reply line of the listener (the last line of a multi-line reply counts)."""
    status = status if isinstance(status, str) else str(status, "ascii", "replace")
    if len(status) > 3 and status[3] == "-":
        return
    code = status[:3] if status[:3].isdigit() else "other"
    child(SMTP_REPLIES, command, code).inc()
    if command in ENVELOPE_COMMANDS and code[0] == "5":
        child(INTAKES, "smtp", "refused").inc()
    elif command in ("MAIL", "RCPT") and code[0] == "4":
        child(INTAKES, "smtp", "throttled").inc()


def webhook_problem(method: str, kind: str, status: int) -> None:
    """A problem answer; a refused POST is a refused (or throttled) intake."""
    child(WEBHOOK_PROBLEMS, kind).inc()
    if method != "POST" or status >= 500:  # 503 not-durable is the funnel's "deferred"
        return
    child(INTAKES, "webhook", "throttled" if status in TEMPORARY_HTTP else "refused").inc()


def signature_failed(reason: str) -> None:
    child(SIGNATURE_FAILURES, reason).inc()
