"""The directory CSV import: all-or-nothing, every problem by line number, idempotent."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from ingest.config_files import config_dir
from workers.store.directory import SqlDirectory, parse_gti, read_csv, store_accounts
from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.schema import AccountRow, ContactRow

HEADER = "client_number,company,contact_name,contact_email,services,coverage,gti\n"


def _db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'dir.sqlite3'}"
    upgrade(url)
    return url


def test_the_demo_directory_is_valid():
    accounts, problems = read_csv(config_dir() / "directory-demo.csv")
    assert problems == []
    assert accounts["20481"].coverage == "24/7" and accounts["20481"].gti_minutes == 30
    assert accounts["04711"].client_number == "04711"  # leading zero kept


def test_a_bad_file_is_refused_whole_with_every_problem_by_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        HEADER
        + "12345,Acme,Jean Dupont,jean@acme.fr,shared_hosting,business,4h\n"
        + "1234,Acme,Marie,marie@acme.fr,shared_hosting,business,4h\n"
        + "23456,Beta,Paul,not-an-email,teleportation,weekends,soon\n",
        encoding="utf-8",
    )
    accounts, problems = read_csv(path)
    assert accounts == {}
    assert any(p.startswith("line 3:") and "5 digits" in p for p in problems)
    assert any(p.startswith("line 4:") and "e-mail" in p for p in problems)
    assert any(p.startswith("line 4:") and "teleportation" in p for p in problems)
    assert any(p.startswith("line 4:") and "coverage" in p for p in problems)
    assert any(p.startswith("line 4:") and "gti" in p for p in problems)


def test_a_wrong_header_is_refused(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("number,name\n1,2\n", encoding="utf-8")
    assert read_csv(path)[1] == ["line 1: header must be " + HEADER.strip()]


def test_importing_twice_updates_and_never_duplicates(tmp_path):
    url = _db(tmp_path)
    sessions = session_factory(url)
    accounts, _ = read_csv(config_dir() / "directory-demo.csv")
    for _ in range(2):
        with sessions.begin() as session:
            store_accounts(session, accounts.values())
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AccountRow)) == len(accounts)
        assert session.scalar(select(func.count()).select_from(ContactRow)) == sum(
            len(a.contacts) for a in accounts.values()
        )
    account = SqlDirectory(sessions).account("20481")
    assert {c.name for c in account.contacts} >= {"Jean-François Hervé", "Sophie Kerbrat"}
    assert account.urgent_eligible
    assert (
        SqlDirectory(sessions).accounts_for_email("S.KERBRAT@armor-logistique.fr")[0].client_number
        == "20481"
    )


def test_gti_is_read_in_minutes_or_hours():
    assert (parse_gti("30min"), parse_gti("1h"), parse_gti("4H"), parse_gti("soon")) == (
        30,
        60,
        240,
        None,
    )
