"""Parser processes fed from the event loop (ingest/parser_processes.py): answers of any size,
a process that dies or hangs costs its own job only and is replaced, nothing is left running."""

from __future__ import annotations

import asyncio
import os

import pytest

from ingest.parser_processes import JobFailed, ParserDied, ParserProcesses
from tests.support import parser_jobs


@pytest.fixture
def processes(tmp_path):
    marker = tmp_path / "started"
    pool = ParserProcesses(2, parser_jobs.ready, (str(marker),), parser_jobs.job)
    pool.marker = marker
    yield pool
    pool.close()


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 60))


def answer(pool: ParserProcesses, *args):
    """One job, in an event loop of its own."""

    async def main():
        return await pool.submit(args)

    return run(main())


def test_answers_bigger_than_the_pipes_buffers_arrive_whole_both_ways(processes):
    big = os.urandom(3 * 1024 * 1024)

    async def main():
        return await asyncio.gather(
            *(processes.submit(("echo", big[n:])) for n in range(6))  # more jobs than processes
        )

    assert run(main()) == [big[n:] for n in range(6)]


def test_each_process_is_initialised_once_and_serves_many_jobs(processes):
    async def main():
        return await asyncio.gather(*(processes.submit(("pid",)) for _ in range(20)))

    pids = set(run(main()))
    started = [int(p) for p in processes.marker.read_text().split()]
    assert len(started) == 2 and pids <= set(started)


def test_a_process_that_dies_fails_its_own_job_only_and_is_replaced(processes):
    async def main():
        first = await processes.submit(("pid",))
        results = await asyncio.gather(
            processes.submit(("die",)),
            processes.submit(("echo", "still here")),
            return_exceptions=True,
        )
        after = await asyncio.gather(*(processes.submit(("pid",)) for _ in range(4)))
        return first, results, after

    first, (died, other), after = run(main())
    assert isinstance(died, ParserDied)
    assert other == "still here"
    started = [int(p) for p in processes.marker.read_text().split()]
    assert len(started) == 3  # two at first, one in place of the dead one
    assert first in started and set(after) <= set(started)


def test_a_job_that_raises_is_reported_and_the_process_goes_on(processes):
    async def main():
        with pytest.raises(JobFailed, match="bad input"):
            await processes.submit(("raise", "bad input"))
        return await processes.submit(("echo", 7))

    assert run(main()) == 7


def test_a_hung_process_can_be_killed_and_its_place_is_taken(processes):
    async def main():
        hung = processes.submit(("hang", 120))
        await asyncio.sleep(0.2)
        assert processes.kill_holder(hung)
        with pytest.raises(ParserDied):
            await hung
        return await asyncio.gather(*(processes.submit(("echo", n)) for n in range(4)))

    assert run(main()) == [0, 1, 2, 3]


def test_a_later_event_loop_takes_the_processes_over(processes):
    assert answer(processes, "echo", "one") == "one"
    assert answer(processes, "echo", "two") == "two"
    assert len(processes.marker.read_text().split()) == 2  # the same processes


def test_an_answer_for_a_loop_that_has_gone_is_dropped_and_its_process_serves_again(processes):
    async def leave_one_running():
        processes.submit(("hang", 0.3))  # nobody will wait for it

    run(leave_one_running())
    assert answer(processes, "echo", "second loop") == "second loop"
    assert answer(processes, "echo", "third loop") == "third loop"

    async def both():  # the process that was busy answers again once done
        await asyncio.sleep(0.5)
        return await asyncio.gather(*(processes.submit(("pid",)) for _ in range(6)))

    assert len(set(run(both()))) >= 1
    assert len(processes.marker.read_text().split()) == 2  # no process was replaced


def test_close_ends_every_process(tmp_path):
    pool = ParserProcesses(2, parser_jobs.ready, (str(tmp_path / "m"),), parser_jobs.job)
    answer(pool, "echo", 1)
    children = [p.process for p in pool._processes]
    pool.close()
    assert children and not any(child.is_alive() for child in children)
    with pytest.raises(RuntimeError, match="closed"):
        answer(pool, "echo", 1)


def test_processes_that_cannot_start_are_replaced_a_second_apart_not_in_a_loop(tmp_path):
    marker = tmp_path / "started"
    pool = ParserProcesses(1, parser_jobs.broken, (str(marker),), parser_jobs.job)

    async def main():
        with pytest.raises(ParserDied):
            await pool.submit(("echo", 1))
        await asyncio.sleep(1.5)

    try:
        run(main())
        assert 2 <= len(marker.read_text().split()) <= 3  # not hundreds
    finally:
        pool.close()
