"""SQLite writers take turns on a file lock instead of polling for the database's write lock.

SQLite lets one connection write at a time; the others get SQLITE_BUSY and the busy handler
sleeps 1, 2, 5 … up to 100 ms between tries.  With the listener, two worker processes and eight
threads each writing small transactions, most of a burst went in those sleeps: the write lock
was free again after a millisecond, the waiters noticed tens of milliseconds later (measured:
the worker spent a fifth of its samples in the busy wait, 1.3 of 2 cores busy while intakes
queued).

Here a connection that is about to write (INSERT, UPDATE, DELETE, REPLACE, or an explicit
BEGIN IMMEDIATE/EXCLUSIVE) first takes its process's turn (a thread lock), then the
database's turn (`flock` on `<database>.turns`, shared by every guichet process), and gives
both back right after its COMMIT or ROLLBACK.  The kernel wakes the next writer the moment the
turn is free.  SQLite's own lock and busy timeout stay underneath for any writer that does not
take turns (the sqlite3 shell, another program).

A thread that already holds the turn through one connection and writes through a second one
does not wait for itself: the second connection goes without a turn, as before.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading

from workers.store.private_files import private_file

PATIENCE = 30.0  # seconds: also SQLite's own busy timeout (workers/store/engine.py)
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "BEGIN IMMEDIATE", "BEGIN EXCLUSIVE")


class Turns:
    """The turn to write one SQLite database, for the threads of this process and the others."""

    def __init__(self, database_path: str):
        self.path = database_path + ".turns"
        private_file(self.path)
        self._fd: int | None = None
        self._pid = 0
        self._thread_lock = threading.Lock()
        self._holder: int | None = None  # thread ident

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked child opens its own
            self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CLOEXEC), os.getpid()
        return self._fd

    def take(self) -> bool:
        """Wait for the turn; False (no turn taken) when this thread already holds it, or when
        another thread of this process kept it longer than SQLite's own busy timeout: the
        write then goes on without a turn and SQLite's lock decides, as it did before turns."""
        me = threading.get_ident()
        if self._holder == me:
            return False
        if not self._thread_lock.acquire(timeout=PATIENCE):
            return False
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        self._holder = me
        return True

    def give_back(self) -> None:
        self._holder = None
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


def _is_write(sql: str) -> bool:
    return sql.lstrip()[:15].upper().startswith(_WRITES)


class TurnCursor(sqlite3.Cursor):
    def execute(self, sql, *args):
        if not self.connection.in_turn and _is_write(sql):
            self.connection.take_turn()
        return super().execute(sql, *args)

    def executemany(self, sql, *args):
        if not self.connection.in_turn and _is_write(sql):
            self.connection.take_turn()
        return super().executemany(sql, *args)


class TurnConnection(sqlite3.Connection):
    """sqlite3 connection (`factory=`) whose writes take turns; `turns` is set per database."""

    turns: Turns

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.in_turn = False

    def take_turn(self) -> None:
        self.in_turn = self.turns.take()

    def _give_back(self) -> None:
        if self.in_turn:
            self.in_turn = False
            self.turns.give_back()

    def cursor(self, factory=TurnCursor):
        return super().cursor(factory)

    def execute(self, sql, *args):
        return self.cursor().execute(sql, *args)

    def commit(self):
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self):
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self):
        try:
            super().close()
        finally:
            self._give_back()


def connection_factory(database_path: str) -> type[TurnConnection]:
    """The sqlite3 connection class for one database file (its turns shared in the process)."""
    return type("TurnConnection", (TurnConnection,), {"turns": Turns(database_path)})
