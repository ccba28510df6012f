"""Group commit: writes handed in by several threads, committed together.

A thread hands its job in and waits; whichever thread commits next takes every job waiting by
then and runs them all in one transaction (one turn at SQLite's write lock, one fsync), and
each caller returns only once its own job is committed. Under contention the batches grow by
themselves: the jobs that arrive while a commit waits for the write turn go in the next one.
A batch that fails is run again one job at a time, so a job at fault fails alone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

Job = TypeVar("Job")
Result = TypeVar("Result")


class _Entry:
    __slots__ = ("job", "done", "result", "error")

    def __init__(self, job):
        self.job, self.done, self.result, self.error = job, False, None, None


def each(session: Session, jobs: list[Callable[[Session], Result]]) -> list[Result]:
    """The `work` of a group commit whose jobs are callables of the session: each one run."""
    return [job(session) for job in jobs]


class GroupCommit(Generic[Job, Result]):
    """`work(session, jobs)` returns one result per job, in order, within the transaction."""

    def __init__(
        self, sessions: sessionmaker, work: Callable[[Session, list[Job]], Sequence[Result]]
    ):
        self._sessions, self._work = sessions, work
        self._queue: list[_Entry] = []
        self._queue_lock = threading.Lock()
        self._commit_lock = threading.Lock()

    def run(self, job: Job) -> Result:
        """The job's result once committed; raises what made it fail."""
        (entry,) = self._commit([_Entry(job)])
        if entry.error is not None:
            raise entry.error
        return entry.result

    def run_many(self, jobs: list[Job]) -> list[Exception | Result]:
        """Several jobs of one caller, committed with whatever else is waiting: each one's error,
        or its result once committed."""
        entries = self._commit([_Entry(job) for job in jobs])
        return [entry.result if entry.error is None else entry.error for entry in entries]

    def _commit(self, mine: list[_Entry]) -> list[_Entry]:
        with self._queue_lock:
            self._queue += mine
        with self._commit_lock:  # the caller holding it commits whatever is queued by then
            if not all(entry.done for entry in mine):
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                self._run(batch)
        return mine

    def _run(self, batch: list[_Entry]) -> None:
        try:
            self._attempt(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
            else:  # one at a time: only the job at fault fails
                for entry in batch:
                    try:
                        self._attempt([entry])
                    except Exception as exc:
                        entry.error = exc
        finally:
            for entry in batch:
                entry.done = True

    def _attempt(self, batch: list[_Entry]) -> None:
        with self._sessions.begin() as session:
            results = self._work(session, [entry.job for entry in batch])
        for entry, result in zip(batch, results, strict=True):
            entry.result = result
