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
from ingest.idempotency_keys import KeyClaim, OnceKey, Remembered
from ingest.queueing import enqueue_intakes, queue_for

log = logging.getLogger("guichet.intake")


class Journal(Protocol):
    """Durable storage of intakes; the store implements it. A journal may also offer
    `record_many(items) -> [exception, None or Remembered, …]`, committing a batch of
    `record`'s arguments at once: the intake then uses it.

    The fifth argument is the request's idempotency key (`KeyClaim`), None without one: the
    key is committed with the intake, or, when it is recorded already, nothing is stored and
    `record` returns what is recorded under it (`Remembered`)."""

    def record(
        self,
        intake_id: str,
        envelope: Envelope,
        raw: bytes,
        analysis: Analysis,
        claim: KeyClaim | None = None,
    ) -> Remembered | None:
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


@dataclass(frozen=True)
class Replayed:
    """The request's idempotency key was recorded already: nothing was stored, and the sender
    gets what is recorded under it."""

    remembered: Remembered


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
        self,
        raw: bytes,
        envelope: Envelope,
        analyse: Callable[[], Awaitable[Analysis]],
        once: OnceKey | None = None,
    ) -> Accepted | Deferred | Replayed:
        """`once`: the sender's idempotency key, committed with the intake (`idempotency_keys`)."""
        outcome = await self._accept(raw, envelope, analyse, once)
        if not isinstance(outcome, Replayed):  # a replay is counted by the edge that answers it
            metrics.took_in(envelope, isinstance(outcome, Accepted))
        return outcome

    async def _accept(
        self,
        raw: bytes,
        envelope: Envelope,
        analyse: Callable[[], Awaitable[Analysis]],
        once: OnceKey | None,
    ) -> Accepted | Deferred | Replayed:
        try:
            analysis = await analyse()
        except DirectoryUnavailable:
            log.warning("intake deferred: the directory cannot be read")
            return Deferred("journal")
        intake_id = new_intake_id()
        claim = None if once is None else once.claim(intake_id)
        with log_context.request(intake_id=intake_id):
            return await self._commit(intake_id, raw, envelope, analysis, claim)

    async def _commit(
        self,
        intake_id: str,
        raw: bytes,
        envelope: Envelope,
        analysis: Analysis,
        claim: KeyClaim | None,
    ) -> Accepted | Deferred | Replayed:
        queue = queue_for(analysis.decision.urgency.level)
        # Both steps in the commit thread, with the requests waiting beside this one.
        failed = await self._committer.run((intake_id, raw, envelope, analysis, queue, claim))
        if failed == "journal":
            return Deferred("journal")
        if isinstance(failed, Remembered):
            # This id names nothing stored: the request gets the first answer given to its key.
            log.info("intake not stored: its idempotency key was recorded by an earlier request")
            return Replayed(failed)
        metrics.decided(analysis.decision)
        if failed == "queue":
            return Deferred("queue", intake_id)
        log.info("intake accepted", extra={"intake_id": intake_id, "queue": queue})
        return Accepted(intake_id, queue)

    def _store_and_queue(self, jobs: list[tuple]) -> list[str | Remembered | None]:
        """Commit, then enqueue (in the commit thread): per job, the step that failed, None, or
        what its key has recorded already (nothing stored, nothing queued)."""
        stored = self._store([(i, env, raw, a, claim) for i, raw, env, a, _, claim in jobs])
        failed: list[str | Remembered | None] = []
        to_queue: list[tuple[int, str, str]] = []  # (place in `failed`, intake id, queue)
        for (intake_id, *_, queue, _), error in zip(jobs, stored, strict=True):
            if isinstance(error, Remembered):
                failed.append(error)
                continue
            if error is not None:
                log.error(
                    "intake not durable: journal failed",
                    exc_info=error,
                    extra={"intake_id": intake_id},
                )
                failed.append("journal")
                continue
            to_queue.append((len(failed), intake_id, queue))
            failed.append(None)
        queued = enqueue_intakes(self.broker, [(i, q) for _, i, q in to_queue]) if to_queue else []
        for (place, intake_id, _), error in zip(to_queue, queued, strict=True):
            if error is not None:
                # Stored but not queued: the sender retries (the worker recognises the
                # duplicate) and the sweeper enqueues this one if the sender never does.
                log.warning(
                    "intake stored but not queued: %s", error, extra={"intake_id": intake_id}
                )
                failed[place] = "queue"
        return failed

    def _store(self, items: list[tuple]) -> list[Exception | Remembered | None]:
        """Each item's rows committed: its error, None, or what its key recorded already. One
        transaction for all of them when the journal can take a batch."""
        record_many = getattr(self.journal, "record_many", None)
        if record_many is not None:
            return record_many(items)
        outcomes: list[Exception | Remembered | None] = []
        for item in items:
            try:
                outcomes.append(self.journal.record(*item))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes
