"""The directory held in memory in each process, reloaded when an import changed it.

Looking an account up through the ORM cost a session, two queries and an object per contact
on every mail (a third of a parser's time on small mails).  Instead each process keeps the
whole directory in two dicts, and at most once per `FRESHNESS` seconds reads one integer,
`directory_version.version`, which `store_accounts` bumps in the import's own transaction:
a lookup is never staler than `FRESHNESS`, and a changed directory is reloaded whole, in two
Core queries.  A database that cannot be read raises `DirectoryUnavailable`, as before (the
edge answers with a temporary failure rather than judge a request without its directory).
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine, event, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ingest.directory import Account, Contact, DirectoryUnavailable
from workers.store.schema import AccountRow, ContactRow, DirectoryVersionRow

FRESHNESS = 1.0  # seconds a snapshot is used before the version is read again

ACCOUNTS = AccountRow.__table__
CONTACTS = ContactRow.__table__
VERSION = DirectoryVersionRow.__table__


_all: list[Snapshot] = []  # this process's snapshots: an import made here is seen at once


def bump_version(session: Session) -> None:
    """Called in the transaction that changes the directory: every process reloads it (this
    one as soon as the transaction commits, the others within FRESHNESS)."""
    session.execute(update(VERSION).where(VERSION.c.id == 1).values(version=VERSION.c.version + 1))
    event.listen(session, "after_commit", lambda _session: _recheck_all(), once=True)


def _recheck_all() -> None:
    for snapshot in _all:
        snapshot.recheck()


@contextmanager
def _reading():
    """Database errors become the protocol's temporary failure, so the edge answers 4xx."""
    try:
        yield
    except DBAPIError as exc:
        raise DirectoryUnavailable(str(exc.orig or exc)[:200]) from exc


@dataclass(frozen=True)
class View:
    """Accounts by number and by declared e-mail address, as of one directory version."""

    by_number: dict[str, Account] = field(default_factory=dict)
    by_email: dict[str, list[Account]] = field(default_factory=dict)


class Snapshot:
    """The directory of this process: a `View`, replaced whole when the version changes."""

    def __init__(self, engine: Engine, freshness: float = FRESHNESS):
        self._engine, self._freshness = engine, freshness
        self._lock = threading.Lock()
        self._version: int | None = None
        self._checked = float("-inf")
        self._view = View()
        _all.append(self)

    def recheck(self) -> None:
        """Read the version at the next lookup, whatever the time."""
        self._checked = float("-inf")

    def current(self) -> View:
        """The view, reloaded first if the directory changed (checked once per FRESHNESS)."""
        if time.monotonic() - self._checked < self._freshness:
            return self._view
        with self._lock, _reading(), self._engine.connect() as conn:
            if time.monotonic() - self._checked < self._freshness:
                return self._view  # another thread just checked
            version = conn.execute(select(VERSION.c.version).where(VERSION.c.id == 1)).scalar()
            if version != self._version or version is None:
                self._view = self._load(conn)
                self._version = version
            self._checked = time.monotonic()
        return self._view

    @staticmethod
    def _load(conn) -> View:
        """Accounts with their contacts in id order; an address's accounts in the order of
        their first contact with it (the order the per-lookup queries gave)."""
        contacts: dict[str, list[Contact]] = {}
        numbers_by_email: dict[str, list[str]] = {}
        for number, name, email in conn.execute(
            select(CONTACTS.c.client_number, CONTACTS.c.name, CONTACTS.c.email).order_by(
                CONTACTS.c.id
            )
        ):
            contacts.setdefault(number, []).append(Contact(name, email))
            if email:
                numbers = numbers_by_email.setdefault(email, [])
                if number not in numbers:
                    numbers.append(number)
        by_number = {}
        for row in conn.execute(select(ACCOUNTS).order_by(ACCOUNTS.c.client_number)):
            by_number[row.client_number] = Account(
                row.client_number,
                row.company,
                tuple(contacts.get(row.client_number, ())),
                frozenset(s for s in row.services.split(";") if s),
                row.coverage,
                row.gti_minutes,
            )
        by_email = {
            email: [by_number[n] for n in numbers if n in by_number]
            for email, numbers in numbers_by_email.items()
        }
        return View(by_number, by_email)
