"""SQLite writers take turns on a file lock: a waiting writer is woken when the turn is free,
instead of polling SQLite's write lock with the busy handler's growing sleeps."""

from __future__ import annotations

import fcntl
import os
import threading

from sqlalchemy import text

from workers.store.engine import make_engine


def _engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    return engine


def test_a_second_writer_waits_for_the_turn_and_writes_after_the_first_commits(tmp_path):
    engine = _engine(tmp_path)
    order: list[str] = []
    first_wrote, second_started = threading.Event(), threading.Event()

    def second():
        second_started.set()
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (2)"))  # waits here for the turn
            order.append("second wrote")

    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))
        first_wrote.set()
        other = threading.Thread(target=second)
        other.start()
        second_started.wait()
        other.join(0.3)
        assert other.is_alive()  # still waiting: it has not touched SQLite's lock
        order.append("first commits")
    other.join(10)
    assert order == ["first commits", "second wrote"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY rowid")).scalars().all() == [1, 2]


def test_the_turn_is_shared_with_other_processes_through_the_lock_file(tmp_path):
    engine = _engine(tmp_path)
    turns = tmp_path / "g.sqlite3.turns"
    assert oct(os.stat(turns).st_mode & 0o777) == "0o600"
    fd = os.open(turns, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)  # as another guichet process in its turn would
    done = threading.Event()

    def write():
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert not done.wait(0.3)
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)
    assert done.wait(10)
    writer.join()


def test_reads_take_no_turn_and_a_rollback_gives_it_back(tmp_path):
    engine = _engine(tmp_path)
    with engine.connect() as conn:
        conn.execute(text("SELECT count(*) FROM t")).scalar()
        assert conn.connection.dbapi_connection.in_turn is False
        conn.commit()
        conn.execute(text("INSERT INTO t VALUES (1)"))
        assert conn.connection.dbapi_connection.in_turn is True
        conn.rollback()
        assert conn.connection.dbapi_connection.in_turn is False
    with engine.begin() as conn:  # the turn is free again
        conn.execute(text("INSERT INTO t VALUES (2)"))


def test_a_thread_in_its_turn_does_not_wait_for_itself_through_a_second_connection(tmp_path):
    engine = _engine(tmp_path)
    with engine.begin() as outer:
        outer.execute(text("INSERT INTO t VALUES (1)"))
        with engine.connect() as inner:
            inner.execute(text("SELECT count(*) FROM t")).scalar()  # reads go on as before
            assert inner.connection.dbapi_connection.turns.take() is False  # no self-wait


def test_a_turn_kept_too_long_by_another_thread_lets_the_write_go_to_sqlite(tmp_path, monkeypatch):
    from workers.store import sqlite_turns

    monkeypatch.setattr(sqlite_turns, "PATIENCE", 0.2)
    engine = _engine(tmp_path)
    with engine.connect() as conn:
        turns = conn.connection.dbapi_connection.turns
    holder = threading.Thread(target=turns.take)  # takes the turn and never gives it back
    holder.start()
    holder.join()
    assert turns.take() is False  # waited PATIENCE, then no turn: SQLite's lock decides
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO t VALUES (1)"))  # the write still happens
