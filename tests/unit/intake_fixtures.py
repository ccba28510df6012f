"""Shared helpers for the intake rule tests: the demo directory and a mail-like Content."""

from __future__ import annotations

import csv
from functools import lru_cache

from ingest.config_files import config_dir
from ingest.directory import Account, Contact, MemoryDirectory
from ingest.model import Content


@lru_cache(maxsize=1)
def demo_directory() -> MemoryDirectory:
    """config/directory-demo.csv as a MemoryDirectory (one row per contact)."""
    accounts: dict[str, dict] = {}
    with (config_dir() / "directory-demo.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            entry = accounts.setdefault(
                row["client_number"],
                {"company": row["company"], "contacts": [], "services": row["services"]},
            )
            entry["contacts"].append(Contact(row["contact_name"], row["contact_email"] or None))
    return MemoryDirectory(
        Account(number, e["company"], tuple(e["contacts"]), frozenset(e["services"].split(";")))
        for number, e in accounts.items()
    )


def mail(text: str = "", subject: str = "", **fields) -> Content:
    """A Content as the SMTP edge would hand it over (non-null envelope sender by default)."""
    fields.setdefault("envelope_sender", fields.get("from_address", "someone@example.org"))
    fields.setdefault("recipients", ["support@dri.example"])
    return Content("smtp", subject=subject, text=text, **fields)
