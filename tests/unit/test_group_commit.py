"""Group commit (workers/store/group_commit.py): jobs handed in while a commit is under way go
together in the next one, each caller gets its own result, and a job at fault fails alone."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from workers.store.group_commit import GroupCommit


@pytest.fixture
def sessions(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (v INTEGER PRIMARY KEY)"))
    return sessionmaker(engine)


def stored(sessions) -> list[int]:
    with sessions() as session:
        return [v for (v,) in session.execute(text("SELECT v FROM t ORDER BY v"))]


def test_jobs_waiting_during_a_commit_go_together_and_each_caller_gets_its_result(sessions):
    started, release, batches = threading.Event(), threading.Event(), []

    def work(session, jobs):
        batches.append(list(jobs))
        if len(batches) == 1:
            started.set()
            release.wait(10)
        for v in jobs:
            session.execute(text("INSERT INTO t VALUES (:v)"), {"v": v})
        return [v * 10 for v in jobs]

    group = GroupCommit(sessions, work)
    results: dict[int, int] = {}

    def call(v):
        results[v] = group.run(v)

    first = threading.Thread(target=call, args=(1,))
    first.start()
    assert started.wait(10)
    others = [threading.Thread(target=call, args=(v,)) for v in range(2, 7)]
    for thread in others:
        thread.start()
    while len(group._queue) < 5:  # all five are waiting for the commit in hand
        threading.Event().wait(0.01)
    release.set()
    for thread in [first, *others]:
        thread.join(10)

    assert results == {v: v * 10 for v in range(1, 7)}
    assert batches[0] == [1] and sorted(batches[1]) == [2, 3, 4, 5, 6] and len(batches) == 2
    assert stored(sessions) == [1, 2, 3, 4, 5, 6]


def test_a_job_at_fault_fails_alone_and_the_others_are_committed(sessions):
    def work(session, jobs):
        for v in jobs:
            if v < 0:
                raise ValueError(f"bad job {v}")
            session.execute(text("INSERT INTO t VALUES (:v)"), {"v": v})
        return [None] * len(jobs)

    group = GroupCommit(sessions, work)
    errors = group.run_many([1, -2, 3])

    assert errors[0] is None and errors[2] is None
    assert isinstance(errors[1], ValueError)
    assert stored(sessions) == [1, 3]
    with pytest.raises(ValueError, match="bad job -4"):
        group.run(-4)
