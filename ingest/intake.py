"""The one funnel both edges use: analyse off the event loop, commit, enqueue, then answer."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

import dramatiq

from ingest import log_context, metrics
from ingest.analysis import Analysis, Envelope
from ingest.commit_thread import CommitThread
from ingest.directory import DirectoryUnavailable
from ingest.queueing import enqueue_intake, queue_for

log = logging.getLogger("guichet.intake")


class Journal(Protocol):
    """Durable storage of intakes; the store implements it. A journal may also offer
    `record_many(items) -> [exception or None, …]`, committing a batch of `record`'s arguments
    at once: the intake then uses it."""

    def record(self, intake_id: str, envelope: Envelope, raw: bytes, analysis: Analysis) -> None:
        """Commit the raw bytes and the decision; raise when that cannot be done."""
        ...


@dataclass(frozen=True)
class Accepted:
    intake_id: str
    queue: str


@dataclass(frozen=True)
class Deferred:
    """The request is not durable yet: the sender must retry (451 / 503)."""

    stage: str  # "journal" | "queue"
    intake_id: str | None = None


def new_intake_id() -> str:
    """Time-ordered, unguessable: 12 hex digits of milliseconds + 20 random hex digits."""
    return f"{int(time.time() * 1000):012x}{secrets.token_hex(10)}"


def intake_time(intake_id: str) -> float | None:
    """When `new_intake_id` made this id (seconds since the epoch); None for any other string."""
    stamp = intake_id[:12]
    if len(intake_id) != 32 or not all(c in "0123456789abcdef" for c in stamp):
        return None
    return int(stamp, 16) / 1000


class Intake:
    """Accept one request: the steps and their order are the same for SMTP and webhooks."""

    def __init__(self, journal: Journal, broker: dramatiq.Broker):
        self.journal, self.broker = journal, broker
        self._committer = CommitThread(self._store_and_queue, "journal", "guichet-commit")

    async def accept(
        self, raw: bytes, envelope: Envelope, analyse: Callable[[], Awaitable[Analysis]]
    ) -> Accepted | Deferred:
        outcome = await self._accept(raw, envelope, analyse)
        metrics.took_in(envelope, isinstance(outcome, Accepted))
        return outcome

    async def _accept(
        self, raw: bytes, envelope: Envelope, analyse: Callable[[], Awaitable[Analysis]]
    ) -> Accepted | Deferred:
        try:
            analysis = await analyse()
        except DirectoryUnavailable:
            log.warning("intake deferred: the directory cannot be read")
            return Deferred("journal")
        intake_id = new_intake_id()
        with log_context.request(intake_id=intake_id):
            return await self._commit(intake_id, raw, envelope, analysis)

    async def _commit(
        self, intake_id: str, raw: bytes, envelope: Envelope, analysis: Analysis
    ) -> Accepted | Deferred:
        queue = queue_for(analysis.decision.urgency.level)
        # Both steps in the commit thread, with the requests waiting beside this one.
        failed = await self._committer.run((intake_id, raw, envelope, analysis, queue))
        if failed == "journal":
            return Deferred("journal")
        metrics.decided(analysis.decision)
        if failed == "queue":
            return Deferred("queue", intake_id)
        log.info("intake accepted", extra={"intake_id": intake_id, "queue": queue})
        return Accepted(intake_id, queue)

    def _store_and_queue(self, jobs: list[tuple]) -> list[str | None]:
        """Commit, then enqueue (in the commit thread): per job, the step that failed or None."""
        stored = self._store([(i, envelope, raw, a) for i, raw, envelope, a, _ in jobs])
        failed: list[str | None] = []
        broker_down = None
        for (intake_id, *_, queue), error in zip(jobs, stored, strict=True):
            if error is not None:
                log.error(
                    "intake not durable: journal failed",
                    exc_info=error,
                    extra={"intake_id": intake_id},
                )
                failed.append("journal")
                continue
            if broker_down is not None:  # not tried again: each would wait for the same timeout
                log.warning(
                    "intake stored but not queued: %s", broker_down, extra={"intake_id": intake_id}
                )
                failed.append("queue")
                continue
            try:
                enqueue_intake(self.broker, intake_id, queue)
            except Exception as exc:
                # Stored but not queued: the sender retries (the worker recognises the
                # duplicate) and the sweeper enqueues this one if the sender never does.
                broker_down = exc
                log.warning("intake stored but not queued: %s", exc, extra={"intake_id": intake_id})
                failed.append("queue")
                continue
            failed.append(None)
        return failed

    def _store(self, items: list[tuple]) -> list[Exception | None]:
        """Each item's rows committed: its error, or None. One transaction for all of them
        when the journal can take a batch."""
        record_many = getattr(self.journal, "record_many", None)
        if record_many is not None:
            return record_many(items)
        errors: list[Exception | None] = []
        for item in items:
            try:
                self.journal.record(*item)
                errors.append(None)
            except Exception as exc:
                errors.append(exc)
        return errors
