"""A second analysis, with a larger time limit, of a request whose first one ran out of time.

The edge gives each request a short parse budget so that a flood cannot hold its parsers; a
request that needed more is stored as "review" and analysed again here, by the worker, in a
process of its own (the limit is a signal, which only a process's main thread receives).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

from ingest.analysis import (
    PARSER_DIED,
    SECOND,
    TIMED_OUT,
    Analysis,
    Envelope,
    Rules,
    analyse_in_process,
    init_process,
    review,
)
from ingest.directory import Directory
from ingest.model import Content

log = logging.getLogger("guichet.parser")


class SecondLook:
    """One parser process with `rules.time_limit` as its budget, started on first use."""

    def __init__(self, directory_factory: Callable[[], Directory], rules: Rules):
        self.factory, self.rules = directory_factory, rules
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def mail(self, raw: bytes, envelope: Envelope) -> Analysis:
        return self._run(raw, envelope, "mail", raw, envelope)

    def content(self, content: Content, envelope: Envelope, raw: bytes) -> Analysis:
        return self._run(raw, envelope, "content", content, envelope, raw, content.message_id)

    def _run(self, raw: bytes, envelope: Envelope, method: str, *args) -> Analysis:
        with self._lock:  # one at a time: the budget is this process's, not shared
            try:
                job = self._executor().submit(analyse_in_process, method, *args)
                found = job.result(timeout=3 * self.rules.time_limit + 5)
                return review(raw, envelope, f"{found.error} {SECOND}") if found.error else found
            except FutureTimeout:
                self.close()  # the process is stuck past its own limit: start afresh
                return review(raw, envelope, f"{TIMED_OUT} {SECOND}")
            except Exception as exc:  # the process died: the request stays for review
                log.error("second analysis failed: %r", exc)
                self.close()
                return review(raw, envelope, f"{PARSER_DIED} {SECOND}")

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=init_process,
                initargs=(self.factory, self.rules),
            )
        return self._pool

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            for process in list(getattr(pool, "_processes", {}).values()):
                process.kill()  # a parser stuck in C code never reads its alarm
            pool.shutdown(wait=False, cancel_futures=True)
