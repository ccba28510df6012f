"""A parser process that dies, or hangs where its own time limit cannot reach it, costs only the
request it held: that one is stored for review, the process is replaced, the others go on."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from datetime import UTC, datetime

from ingest.analysis import PARSER_DIED, TIMED_OUT, Envelope, Rules
from ingest.parser_pool import ParserPool
from tests.unit.intake_fixtures import demo_directory

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
MAIL = (
    b"From: Jean-Francois Herve <jf.herve@armor-logistique.fr>\r\n"
    b"Subject: Question sur mon site, client 20481\r\nMessage-ID: <q@armor.example>\r\n\r\n"
    b"Bonjour, une question sur la configuration de mon site.\r\n"
)


def envelope() -> Envelope:
    return Envelope("smtp", "jf.herve@armor-logistique.fr", ["support@dri.example"], NOW)


def parser_pids(pool: ParserPool) -> list[int]:
    return [p.process.pid for p in pool._processes._processes]


async def held_by_a_stopped_parser(pool: ParserPool):
    """Stop every parser (SIGSTOP), hand one the mail: (the analysis task, the holder's pid)."""
    await pool.analyse(MAIL, envelope())  # every parser up and initialised
    stopped = parser_pids(pool)
    for pid in stopped:
        os.kill(pid, signal.SIGSTOP)
    task = asyncio.create_task(pool.analyse(MAIL, envelope()))
    for _ in range(100):
        await asyncio.sleep(0.01)
        holders = [p.process.pid for p in pool._processes._processes if p.job is not None]
        if holders:
            return task, holders[0], stopped
    raise AssertionError("no parser took the mail")


def test_a_parser_killed_mid_analysis_costs_that_request_only():
    pool = ParserPool(demo_directory, Rules(), processes=1, reserved=1)
    pool.start()

    async def main():
        task, holder, stopped = await held_by_a_stopped_parser(pool)
        os.kill(holder, signal.SIGKILL)
        for pid in stopped:
            if pid != holder:
                os.kill(pid, signal.SIGCONT)
        died = await asyncio.wait_for(task, 30)
        after = await asyncio.wait_for(pool.analyse(MAIL, envelope()), 30)
        return died, after, holder

    try:
        died, after, holder = asyncio.run(main())
        assert died.error == PARSER_DIED
        assert died.decision.suppression.skip_reason == "needs-review"
        assert after.error is None and after.decision.identity.client_number == "20481"
        assert holder not in parser_pids(pool) and len(parser_pids(pool)) == 2  # replaced
    finally:
        pool.close()


def test_a_parser_stuck_past_the_outer_bound_is_killed_and_replaced():
    pool = ParserPool(demo_directory, Rules(time_limit=0.5), processes=1, reserved=1)
    pool.start()

    async def main():
        task, holder, stopped = await held_by_a_stopped_parser(pool)
        for pid in stopped:
            if pid != holder:
                os.kill(pid, signal.SIGCONT)  # the holder stays stopped: no limit reaches it
        stuck = await asyncio.wait_for(task, 30)  # the outer bound: 3 x 0.5 + 5 s
        after = await asyncio.wait_for(pool.analyse(MAIL, envelope()), 30)
        return stuck, after, holder

    try:
        stuck, after, holder = asyncio.run(main())
        assert stuck.error == TIMED_OUT
        assert after.error is None
        assert holder not in parser_pids(pool) and len(parser_pids(pool)) == 2
        assert _ends(holder)
    finally:
        pool.close()


def _ends(pid: int) -> bool:
    """The process is gone or a zombie within 10 s (a SIGKILL takes effect asynchronously)."""
    for _ in range(1000):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                    return True
        except OSError:
            return True
        time.sleep(0.01)
    return False
