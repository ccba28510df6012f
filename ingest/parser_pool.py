"""Parser processes beside the listener's event loop, so one heavy mail never stalls the others.

Jobs reach a parser through `ParserSlots` (fair between sources, urgent mail first, one slot
reserved for it), and only when a parser is free: the time limit then counts the parse alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from ingest import spool
from ingest.analysis import (
    PARSER_DIED,
    TIMED_OUT,
    Analyser,
    Analysis,
    Envelope,
    Rules,
    analyse_in_process,
    init_process,
    review,
)
from ingest.directory import Directory
from ingest.first_look import FirstLook
from ingest.model import Content
from ingest.parser_processes import ParserDied, ParserProcesses
from ingest.parser_slots import ParserSlots

log = logging.getLogger("guichet.parser")


class ParserPool:
    """Analysis in a process pool (`processes > 0`) or threads (tests): the edges' one way to
    analyse. `reserved` more parsers take urgent mail only."""

    def __init__(
        self,
        directory_factory: Callable[[], Directory],
        rules: Rules,
        processes: int = 2,
        *,
        reserved: int = 1,
        exempt_sources=(),
    ):
        self.factory, self.rules, self.processes = directory_factory, rules, processes
        self.slots = ParserSlots(max(1, processes), reserved)
        self.size = max(1, processes) + max(0, reserved)
        self._threads: ThreadPoolExecutor | None = None  # processes <= 0 (tests)
        self._processes: ParserProcesses | None = None
        self._spool: spool.Spool | None = None  # big requests go to parser processes by file
        self._local = Analyser(directory_factory(), rules) if processes <= 0 else None
        self.first_look = FirstLook(
            self._local.directory if self._local else directory_factory(),
            rules.urgent_addresses,
            exempt_sources,
        )

    def start(self) -> None:
        """Start every parser now (in the background: the listener does not wait for them), so
        that neither the first mails nor an urgent one waits for a parser to be born."""
        if self.processes <= 0:
            self._threads = self._threads or ThreadPoolExecutor(
                self.size, thread_name_prefix="guichet-parser"
            )
            return
        self._spool = self._spool or spool.Spool()
        if self._processes is None:
            self._processes = ParserProcesses(
                self.size, init_process, (self.factory, self.rules), analyse_in_process
            )
        self._processes.start()

    # The first look (is it urgent?) only orders jobs that wait for a parser: when this one
    # would start at once anyway, it is not taken (8 % of the listener's CPU under light load).

    async def analyse(self, raw: bytes, envelope: Envelope) -> Analysis:
        """A raw mail (SMTP edge, raw-MIME webhooks)."""
        source = self.first_look.source(envelope)
        priority = not self.slots.at_once(source) and await self.first_look.mail(raw, envelope)
        return await self._run("mail", raw, envelope, (raw, envelope), source, priority)

    async def analyse_content(
        self, content: Content, envelope: Envelope, raw: bytes, key_material: str
    ) -> Analysis:
        """A request its edge already structured (webhook JSON)."""
        source = self.first_look.source(envelope)
        priority = not self.slots.at_once(source) and await self.first_look.content(content)
        args = (content, envelope, raw, key_material)
        return await self._run("content", raw, envelope, args, source, priority)

    async def _run(
        self, method: str, raw: bytes, envelope: Envelope, args: tuple, source: str, priority: bool
    ) -> Analysis:
        if self._threads is None and self._processes is None:
            self.start()
        slot = await self.slots.acquire(source, priority)
        spooled = None
        try:
            if self._spool is not None and len(raw) > spool.ABOVE:
                spooled = await self._spooled(raw)
            if spooled is not None:
                args = tuple(spooled if arg is raw else arg for arg in args)
            job = self._submit(method, args)
            loop = asyncio.get_running_loop()
            started = loop.time()
        except BaseException:
            self.slots.release(source, slot)
            if spooled is not None:
                spooled.discard()
            raise

        def done(_) -> None:
            # The slot is given back when the parser is really done, even after we stopped
            # waiting; the file, if the parser never took it, goes then too.
            self.slots.release(source, slot, loop.time() - started)
            if spooled is not None:
                spooled.discard()

        job.add_done_callback(done)
        try:
            # The parser process enforces the limit itself; this outer bound is the safety net.
            return await asyncio.wait_for(asyncio.shield(job), self._outer)
        except ParserDied as exc:
            log.error("parser process died: %s", exc)
            return review(raw, envelope, PARSER_DIED)
        except TimeoutError:
            if self._processes is not None:  # stuck where its own limit cannot reach it
                self._processes.kill_holder(job)
            return review(raw, envelope, TIMED_OUT)

    async def _spooled(self, raw: bytes) -> spool.Spooled | None:
        """The request written for its parser; None (it goes by the pipe) when it cannot be."""
        try:
            return await asyncio.to_thread(self._spool.put, raw)
        except OSError as exc:
            log.warning("big request sent to its parser by the pipe: cannot write it: %s", exc)
            return None

    @property
    def _outer(self) -> float:
        """Wall-clock bound for a parser stuck where its CPU-time limit cannot reach it (inside
        one C call); generous, as a loaded machine stretches honest CPU seconds too."""
        return 3 * self.rules.time_limit + 5

    def _submit(self, method: str, args: tuple) -> asyncio.Future:
        if self._processes is not None:
            return self._processes.submit((method, *args))
        return asyncio.wrap_future(self._threads.submit(getattr(self._local, method), *args))

    def close(self) -> None:
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None
        if self._processes is not None:
            self._processes.close()
            self._processes = None
        if self._spool is not None:
            self._spool.close()
            self._spool = None
