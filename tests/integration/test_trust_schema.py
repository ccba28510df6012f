"""Migration 0008 adds exactly the sender-trust columns the schema declares (tickets, pages)."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from workers.store.engine import engine_for
from workers.store.migrate import upgrade
from workers.store.schema import Base

pytestmark = pytest.mark.integration


def test_the_sender_trust_columns_after_the_migrations_match_the_schema(database_url):
    upgrade(database_url)
    with engine_for(database_url).connect() as connection:
        diffs = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    about_trust = [d for d in diffs if "sender_trust" in repr(d)]
    assert about_trust == []
    columns = {c.name for c in Base.metadata.tables["pages"].columns}
    assert "sender_trust" in columns
