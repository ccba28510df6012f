"""The directory in memory: lookups cost no query, an import is seen, another process's within FRESHNESS."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import create_engine, event

from ingest.config_files import config_dir
from ingest.directory import MemoryDirectory
from workers.store.directory import SqlDirectory, read_csv, store_accounts
from workers.store.directory_snapshot import Snapshot
from workers.store.engine import session_factory
from workers.store.migrate import upgrade


def _imported(tmp_path: Path) -> tuple[str, dict]:
    url = f"sqlite:///{tmp_path / 'dir.sqlite3'}"
    upgrade(url)
    accounts, _ = read_csv(config_dir() / "directory-demo.csv")
    with session_factory(url).begin() as session:
        store_accounts(session, accounts.values())
    return url, accounts


def _counting(engine) -> list[str]:
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    return statements


def test_lookups_answer_as_the_memory_directory_and_cost_no_query(tmp_path):
    url, accounts = _imported(tmp_path)
    engine = create_engine(url)  # its own engine: what another process would have
    snapshot, statements = Snapshot(engine, freshness=3600), _counting(engine)
    memory = MemoryDirectory(accounts.values())
    view = snapshot.current()
    loaded = len(statements)  # the version, the contacts, the accounts
    for number in [*accounts, "99999"]:
        assert snapshot.current().by_number.get(number) == memory.account(number)
    for contact in (c for a in accounts.values() for c in a.contacts if c.email):
        assert view.by_email[contact.email] == memory.accounts_for_email(contact.email)
    assert (loaded, len(statements)) == (3, 3)


def test_an_import_in_this_process_is_seen_at_the_next_lookup(tmp_path):
    url, accounts = _imported(tmp_path)
    directory = SqlDirectory(session_factory(url))
    assert directory.account("20481").company == accounts["20481"].company
    renamed = replace(accounts["20481"], company="Armor Logistique Nouvelle")
    with session_factory(url).begin() as session:
        store_accounts(session, [renamed])
    assert directory.account("20481").company == "Armor Logistique Nouvelle"


def test_another_process_reloads_once_the_version_changed_and_only_then(tmp_path):
    url, accounts = _imported(tmp_path)
    engine = create_engine(url)
    snapshot, statements = Snapshot(engine, freshness=0), _counting(engine)
    snapshot.current()
    unchanged = len(statements)
    snapshot.current()  # version read again, nothing reloaded
    assert len(statements) == unchanged + 1
    renamed = replace(accounts["10234"], company="Boulangerie Le Goff & Fils")
    with session_factory(url).begin() as session:
        store_accounts(session, [renamed])
    assert snapshot.current().by_number["10234"].company == "Boulangerie Le Goff & Fils"
    assert len(statements) == unchanged + 1 + 3
