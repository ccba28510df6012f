"""Bring a database to the newest schema with Alembic (`guichet db upgrade`, and at every start)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_ASSIGN = re.compile(r'^(revision|down_revision)\s*=\s*["\']?([\w-]+)["\']?', re.MULTILINE)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Apply every pending migration; a no-op when the schema is current.

    Most commands run this first: when the database already stands at the newest revision
    (one small query), Alembic is not even imported, which keeps short commands short."""
    if current_revision(url) == head_revision():
        return
    from alembic import command

    command.upgrade(alembic_config(url), "head")


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The revision no other migration builds on, read from the files of `migrations/versions`."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_ASSIGN.findall(path.read_text("utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            parents.add(found.get("down_revision", "None"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None  # several heads: let Alembic decide


def current_revision(url: str) -> str | None:
    """The revision the database stands at; None when it has none (or cannot say)."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from workers.store.engine import engine_for

    try:
        with engine_for(url).connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        return None


def revision(url: str, message: str) -> None:
    """Autogenerate a new migration from the schema (developers only)."""
    from alembic import command

    command.revision(alembic_config(url), message=message, autogenerate=True)
