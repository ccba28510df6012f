"""Parser processes beside the listener's event loop, so one heavy mail never stalls the others."""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from ingest.analysis import (
    Analyser,
    Analysis,
    Envelope,
    Rules,
    analyse_in_process,
    dedup_key,
    init_process,
    review_decision,
)
from ingest.directory import Directory
from ingest.model import Content

log = logging.getLogger("guichet.parser")


class ParserPool:
    """Analysis in a process pool (`processes > 0`) or a thread (tests): the edges' one way to analyse."""

    def __init__(
        self, directory_factory: Callable[[], Directory], rules: Rules, processes: int = 2
    ):
        self.factory, self.rules, self.processes = directory_factory, rules, processes
        self._pool: ProcessPoolExecutor | None = None
        self._local = Analyser(directory_factory(), rules) if processes <= 0 else None

    def start(self) -> None:
        if self.processes > 0:
            context = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(
                self.processes,
                mp_context=context,
                initializer=init_process,
                initargs=(self.factory, self.rules),
            )

    async def analyse(self, raw: bytes, envelope: Envelope) -> Analysis:
        """A raw mail (SMTP edge, raw-MIME webhooks)."""
        return await self._run("mail", raw, envelope, (raw, envelope))

    async def analyse_content(
        self, content: Content, envelope: Envelope, raw: bytes, key_material: str
    ) -> Analysis:
        """A request its edge already structured (webhook JSON)."""
        return await self._run("content", raw, envelope, (content, envelope, raw, key_material))

    async def _run(self, method: str, raw: bytes, envelope: Envelope, args: tuple) -> Analysis:
        loop = asyncio.get_running_loop()
        try:
            if self._pool is None:
                call = loop.run_in_executor(None, getattr(self._local, method), *args)
            else:
                call = loop.run_in_executor(self._pool, analyse_in_process, method, *args)
            # The parser process enforces the limit itself; this outer bound is the safety net.
            return await asyncio.wait_for(call, self.rules.time_limit + 5)
        except BrokenProcessPool:
            log.error("parser process died; restarting the pool")
            self.close()
            self.start()
            return self._review(raw, envelope, "parser process died")
        except TimeoutError:
            return self._review(raw, envelope, "parsing exceeded its time limit")

    @staticmethod
    def _review(raw: bytes, envelope: Envelope, error: str) -> Analysis:
        return Analysis(
            review_decision(envelope, error), dedup_key(envelope.sender, "", raw), error=error
        )

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
