"""Migration 0007 creates exactly the console's tables the schema declares, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from workers.store.engine import engine_for
from workers.store.migrate import upgrade
from workers.store.schema import Base
from workers.store.schema_admin import AdminRow, AdminSessionRow, AuditRow, TemplateVersionRow

pytestmark = pytest.mark.integration
TABLES = {t.__tablename__ for t in (AdminRow, AdminSessionRow, TemplateVersionRow, AuditRow)}


def _table(diff) -> str | None:
    item = diff[0] if isinstance(diff, list) else diff
    for part in item[1:]:
        name = getattr(part, "name", None) if not isinstance(part, str) else part
        table = getattr(part, "table", None)
        if table is not None:
            return table.name
        if name in TABLES:
            return name
    return None


def test_the_console_tables_after_the_migrations_match_the_schema(database_url):
    upgrade(database_url)
    with engine_for(database_url).connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert [d for d in diffs if _table(d) in TABLES] == []
