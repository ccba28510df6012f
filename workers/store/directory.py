"""The customer directory in the database: CSV import (all-or-nothing) and lookups for the rules."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, delete
from sqlalchemy.orm import Session, sessionmaker

from ingest.directory import Account, Contact
from workers.store.directory_snapshot import Snapshot, bump_version
from workers.store.schema import AccountRow, ContactRow, utcnow

HEADER = [
    "client_number",
    "company",
    "contact_name",
    "contact_email",
    "services",
    "coverage",
    "gti",
]
SERVICES = frozenset(
    {
        "dedicated_server",
        "dedicated_service",
        "transit",
        "shared_hosting",
        "email_hosting",
        "domain_names",
        "database",
    }
)
COVERAGES = frozenset({"business", "24/7"})
_GTI = re.compile(r"^\s*(\d+)\s*(min|h)\s*$", re.IGNORECASE)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class ImportReport:
    accounts: int = 0
    contacts: int = 0
    problems: list[str] = field(default_factory=list)


def parse_gti(text: str) -> int | None:
    """ "30min" → 30, "4h" → 240; None when unreadable."""
    match = _GTI.match(text or "")
    if not match:
        return None
    value, unit = int(match.group(1)), match.group(2).lower()
    return value * 60 if unit == "h" else value


def _row_problems(line: int, row: dict) -> list[str]:
    problems = []
    number = (row.get("client_number") or "").strip()
    if not re.fullmatch(r"\d{5}", number):
        problems.append(f"line {line}: client_number {number!r} is not exactly 5 digits")
    if not (row.get("company") or "").strip():
        problems.append(f"line {line}: company is empty")
    if not (row.get("contact_name") or "").strip():
        problems.append(f"line {line}: contact_name is empty")
    email = (row.get("contact_email") or "").strip()
    if email and not _EMAIL.match(email):
        problems.append(f"line {line}: contact_email {email!r} is not an e-mail address")
    unknown = [s for s in _services(row) if s not in SERVICES]
    if unknown:
        problems.append(
            f"line {line}: unknown service(s) {', '.join(unknown)} (allowed: {', '.join(sorted(SERVICES))})"
        )
    if (row.get("coverage") or "").strip() not in COVERAGES:
        problems.append(
            f"line {line}: coverage {row.get('coverage')!r} must be 'business' or '24/7'"
        )
    if parse_gti(row.get("gti") or "") is None:
        problems.append(f"line {line}: gti {row.get('gti')!r} must look like 30min, 1h or 4h")
    return problems


def _services(row: dict) -> list[str]:
    return [s.strip() for s in (row.get("services") or "").split(";") if s.strip()]


def read_csv(path: Path) -> tuple[dict[str, Account], list[str]]:
    """Read and validate the whole file; accounts are returned only when there is no problem."""
    problems: list[str] = []
    accounts: dict[str, dict] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        if [h.strip() for h in (reader.fieldnames or [])] != HEADER:
            return {}, [f"line 1: header must be {','.join(HEADER)}"]
        for row in reader:
            line = reader.line_num
            row_problems = _row_problems(line, row)
            problems += row_problems
            if not row_problems:
                problems += _merge(accounts, line, row)
    built = {n: _account(n, a) for n, a in accounts.items()}
    return ({} if problems else built), problems


def _merge(accounts: dict[str, dict], line: int, row: dict) -> list[str]:
    number = row["client_number"].strip()
    fields = (
        row["company"].strip(),
        tuple(sorted(_services(row))),
        row["coverage"].strip(),
        parse_gti(row["gti"]),
    )
    entry = accounts.setdefault(number, {"fields": fields, "contacts": {}})
    if entry["fields"] != fields:
        return [
            f"line {line}: account {number} has company/services/coverage/gti different from its first row"
        ]
    name = " ".join(row["contact_name"].split())
    if name.casefold() in entry["contacts"]:
        return [f"line {line}: contact {name!r} appears twice for account {number}"]
    entry["contacts"][name.casefold()] = Contact(
        name, (row.get("contact_email") or "").strip().lower() or None
    )
    return []


def _account(number: str, entry: dict) -> Account:
    company, services, coverage, gti = entry["fields"]
    return Account(
        number, company, tuple(entry["contacts"].values()), frozenset(services), coverage, gti
    )


def store_accounts(session: Session, accounts: Iterable[Account]) -> ImportReport:
    """Insert or update each account and replace its contacts (importing twice never duplicates)."""
    report = ImportReport()
    for account in accounts:
        row = session.get(AccountRow, account.client_number) or AccountRow(
            client_number=account.client_number
        )
        row.company, row.coverage, row.gti_minutes = (
            account.company,
            account.coverage,
            account.gti_minutes,
        )
        row.services, row.updated_at = ";".join(sorted(account.services)), utcnow()
        session.add(row)
        session.flush()
        session.execute(delete(ContactRow).where(ContactRow.client_number == account.client_number))
        session.add_all(
            ContactRow(client_number=account.client_number, name=c.name, email=c.email)
            for c in account.contacts
        )
        report.accounts += 1
        report.contacts += len(account.contacts)
    bump_version(session)  # every process reloads its directory snapshot
    return report


class SqlDirectory:
    """The `ingest.directory.Directory` protocol over the store, answered from this process's
    in-memory snapshot (`directory_snapshot`: reloaded when an import bumps the version)."""

    def __init__(self, sessions: sessionmaker):
        self._sessions = sessions
        self._snapshot = _snapshot_for(sessions.kw["bind"])

    def account(self, client_number: str) -> Account | None:
        return self._snapshot.current().by_number.get(client_number)

    def accounts_for_email(self, email: str) -> list[Account]:
        return list(self._snapshot.current().by_email.get(email.lower(), ()))

    def all(self) -> list[Account]:
        return list(self._snapshot.current().by_number.values())


_snapshots: dict[Engine, Snapshot] = {}


def _snapshot_for(engine: Engine) -> Snapshot:
    """One snapshot per database per process, shared by every SqlDirectory on it."""
    if engine not in _snapshots:
        _snapshots[engine] = Snapshot(engine)
    return _snapshots[engine]
