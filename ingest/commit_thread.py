"""One thread that makes requests durable and queues them, a batch at a time.

Every edge's request ends with a blocking step: commit its rows, then put it on a queue. Run in
a thread of its own per request (`asyncio.to_thread`), each of those steps woke a thread, passed
the interpreter lock back and forth and waited on the journal's group commit: half of the SMTP
listener's CPU per mail went there. Here one long-lived thread takes every request waiting when
it is free, hands the batch to `work` (one transaction, then the enqueues), and answers the whole
batch with one wake-up of the event loop. A request is still answered only after its own work
is done; what `work` says of each request is its answer.

For callers on an event loop. Callers that are threads themselves (a worker's) batch with
`workers.store.group_commit`, where the next caller to commit takes the others' jobs along.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger("guichet.intake")

Job = TypeVar("Job")
Outcome = TypeVar("Outcome")


class CommitThread(Generic[Job, Outcome]):
    """`await thread.run(job)`: `work([job, …])[i]` for this job, computed in the thread.

    `work` gets the jobs in arrival order and returns one outcome per job; should it raise,
    every job of the batch gets `failed`. The thread starts with the first job and then waits,
    at no cost, for the next one; it is a daemon, so it never holds the process open."""

    def __init__(self, work: Callable[[list[Job]], Sequence[Outcome]], failed: Outcome, name: str):
        self._work, self._failed, self._name = work, failed, name
        self._waiting: list[tuple[Job, asyncio.Future, asyncio.AbstractEventLoop]] = []
        self._ready = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    async def run(self, job: Job) -> Outcome:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self._ready:
            self._waiting.append((job, future, loop))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._serve, name=self._name, daemon=True)
                self._thread.start()
            self._ready.notify()
        # Shielded: a caller that stops waiting (a client gone) does not undo a commit in hand;
        # the job is done all the same, as it was in a worker thread.
        return await asyncio.shield(future)

    def _serve(self) -> None:
        while True:
            with self._ready:
                while not self._waiting:
                    self._ready.wait()
                batch, self._waiting = self._waiting, []
            try:
                outcomes = list(self._work([job for job, _, _ in batch]))
                if len(outcomes) != len(batch):
                    raise RuntimeError(f"{len(outcomes)} outcomes for {len(batch)} jobs")
            except Exception:
                log.exception("%s: a batch of %d failed", self._name, len(batch))
                outcomes = [self._failed] * len(batch)
            self._answer(batch, outcomes)

    @staticmethod
    def _answer(batch, outcomes) -> None:
        """One wake-up per event loop for the whole batch (jobs may come from several loops)."""
        by_loop: dict[asyncio.AbstractEventLoop, list] = {}
        for (_, future, loop), outcome in zip(batch, outcomes, strict=True):
            by_loop.setdefault(loop, []).append((future, outcome))
        for loop, settled in by_loop.items():
            with contextlib.suppress(RuntimeError):  # a closed loop: nobody is waiting any more
                loop.call_soon_threadsafe(_settle, settled)


def _settle(settled: list[tuple[asyncio.Future, object]]) -> None:
    for future, outcome in settled:
        if not future.done():
            future.set_result(outcome)
