"""Prometheus metrics of the workers: tickets filed, acknowledgements, pages, parked messages,
template failures, and every Dramatiq message's outcome.

A count made inside a database transaction is kept on the session and applied only once the
transaction commits (`after_commit`): a filing that rolls back and is retried counts once.
Labels take a handful of fixed values, never a client number or an address."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from dramatiq.middleware import Middleware
from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session

from ingest.intake import intake_time

LATENCY_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600, 4 * 3600, 86400)

TICKETS = Counter(
    "guichet_tickets_filed", "Intakes filed, by outcome: created, threaded, duplicate", ["outcome"]
)
FILING_LATENCY = Histogram(
    "guichet_ticket_filing_latency_seconds",
    "From the intake accepted at the edge to its ticket filed (created or threaded)",
    buckets=LATENCY_BUCKETS,
)
ACKS_SENT = Counter("guichet_acks_sent", "Acknowledgements taken by the relay or the outbox")
ACKS_SKIPPED = Counter(
    "guichet_acks_skipped", "Acknowledgements recorded as not to send, by reason", ["reason"]
)
ACK_FAILURES = Counter(
    "guichet_ack_failures",
    "Acknowledgement sends that failed: refused (5xx, final), deferred (retried), expired (given up)",
    ["kind"],
)
ACK_LATENCY = Histogram(
    "guichet_ack_latency_seconds",
    "From the intake accepted at the edge to its acknowledgement sent",
    buckets=LATENCY_BUCKETS,
)
PAGES = Counter("guichet_pages", "On-call pages, by outcome: sent, limited, unknown", ["outcome"])
PARKED = Counter(
    "guichet_messages_parked", "Queue messages parked after exhausting their retries", ["actor"]
)
TEMPLATE_FAILURES = Counter(
    "guichet_template_failures",
    "Acknowledgement template failures: render (one acknowledgement), reload (a set refused)",
    ["stage"],
)
MESSAGES = Counter(
    "guichet_worker_messages",
    "Queue messages processed by the workers, by actor and outcome (done, failed)",
    ["actor", "outcome"],
)
IN_PROGRESS = Gauge(
    "guichet_worker_messages_in_progress",
    "Queue messages being processed now, by actor",
    ["actor"],
    multiprocess_mode="livesum",
)

_PENDING = "guichet.metrics"  # session.info key: counts waiting for the commit


def on_commit(session: Session, count: Callable[[], None]) -> None:
    """Run `count` once `session`'s transaction commits; forget it if it rolls back."""
    session.info.setdefault(_PENDING, []).append(count)


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    for count in session.info.pop(_PENDING, ()):
        count()


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def _since_accepted(histogram: Histogram, intake_id: str | None) -> None:
    accepted = intake_time(intake_id or "")
    if accepted is not None:
        histogram.observe(max(0.0, time.time() - accepted))


# Call sites ---------------------------------------------------------------------------


def filed(intake_id: str, outcome) -> None:
    """After the filing's commit (`workers.filing`): one intake, with its `tickets.Outcome`."""
    kind = "duplicate" if outcome.duplicate else "created" if outcome.created else "threaded"
    TICKETS.labels(kind).inc()
    if kind != "duplicate":
        _since_accepted(FILING_LATENCY, intake_id)


def ack_recorded(session: Session, skip_reason: str | None) -> None:
    if skip_reason:
        on_commit(session, ACKS_SKIPPED.labels(skip_reason).inc)


def ack_sent(intake_id: str) -> None:
    """Once the relay (or outbox) took it: after the record's commit and the last step."""
    ACKS_SENT.inc()
    _since_accepted(ACK_LATENCY, intake_id)


def ack_failed(session: Session, kind: str) -> None:
    on_commit(session, ACK_FAILURES.labels(kind).inc)


def page_sent(session: Session) -> None:
    on_commit(session, PAGES.labels("sent").inc)


def page_limited(session: Session) -> None:
    """HOOK for the page limits (sender trust): call where a page is withheld by a limit
    (beside its "page-limited" event in `workers.store.records.record_page`)."""
    on_commit(session, PAGES.labels("limited").inc)


def page_unknown(session: Session) -> None:
    """A page whose claimant died before recording its outcome (`workers.sweeper`)."""
    on_commit(session, PAGES.labels("unknown").inc)


def parked(actor: str) -> None:
    PARKED.labels(actor).inc()


def template_set_refused() -> None:
    TEMPLATE_FAILURES.labels("reload").inc()


@contextmanager
def counting_render_failures() -> Iterator[None]:
    try:
        yield
    except Exception:
        TEMPLATE_FAILURES.labels("render").inc()
        raise


class MessageMetrics(Middleware):
    """Every message a worker processes: in progress, then done or failed (a failure is
    retried by Dramatiq, or parked once its retries are spent)."""

    def __init__(self):
        self.started: set[str] = set()  # a message skipped before our hook ran is not in it

    def before_process_message(self, broker, message):
        self.started.add(message.message_id)
        IN_PROGRESS.labels(message.actor_name).inc()

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self._ended(message)
        MESSAGES.labels(message.actor_name, "failed" if exception else "done").inc()

    def after_skip_message(self, broker, message):
        self._ended(message)

    def _ended(self, message) -> None:
        if message.message_id in self.started:
            self.started.discard(message.message_id)
            IN_PROGRESS.labels(message.actor_name).dec()
