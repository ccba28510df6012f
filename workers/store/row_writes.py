"""A filing's new rows written with one Core statement each, then held by the session as if loaded.

A filing runs while it holds the database's write turn (`workers.store.sqlite_turns`): every
other filing, journal commit and "sent" record of every process waits for it. Its rows went
through the ORM's unit of work — a flush for the ticket (to learn its id), one for the
acknowledgement, one for the page, one at commit for the ticket's number and the intake's
status — whose bookkeeping cost more than the statements it emitted, inside that turn.

Here a new row is one `INSERT … RETURNING id` on the transaction's connection. The object is
then put in the session as a row just read (`make_transient_to_detached`): what is built after
the commit (the acknowledgement) finds it by `session.get` with no SELECT, and a later change
to it (a page refused notes it on the ticket) is flushed by the ORM as before. Columns the code
left unset get their Python-side default here, as the flush would have given them, so the
object holds what the row holds.

`unless_taken` is the insert-or-skip both claim tables use (content keys, webhook keys).
"""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import Column, Table, bindparam, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value


@functools.cache
def _inserting(table: Table):
    """The table's INSERT … RETURNING id (one statement object, so its compiled form is reused)
    and its columns with the default each takes when the code does not set it."""
    defaults = []
    for column in table.columns:
        if column.primary_key:
            continue
        default = column.default
        if default is None:
            defaults.append((column.key, None, False))
        else:
            defaults.append((column.key, default.arg, default.is_callable))
    return insert(table).returning(table.c.id), tuple(defaults)


def insert_row(session: Session, row: Any) -> Any:
    """Write the new mapped `row` with one INSERT and make it persistent in `session` (id set)."""
    statement, defaults = _inserting(type(row).__table__)
    given = row.__dict__
    values = {}
    for key, default, is_callable in defaults:
        if key in given:
            values[key] = given[key]
        else:
            values[key] = value = default(None) if is_callable else default
            setattr(row, key, value)
    row.id = session.connection().execute(statement, values).scalar_one()
    make_transient_to_detached(row)
    session.add(row)
    return row


@functools.cache
def _updating(table: Table, keys: tuple[str, ...]):
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({key: bindparam(f"new_{key}") for key in keys})
    )


def update_row(session: Session, row: Any, **changes: Any) -> None:
    """Write `changes` to the persistent `row` with one UPDATE, and hold them in the object as
    its loaded state (nothing left for the ORM to flush)."""
    keys = tuple(sorted(changes))
    params = {f"new_{key}": changes[key] for key in keys}
    session.connection().execute(_updating(type(row).__table__, keys), {"row_id": row.id, **params})
    for key, value in changes.items():
        set_committed_value(row, key, value)


def unless_taken(table: Table, returning: Column) -> dict:
    """INSERT … ON CONFLICT DO NOTHING RETURNING `returning`, one statement object per dialect
    (built once: a statement built per call computed its cache key each time): a row comes
    back when this insert made it, none when its key was taken already."""
    return {
        name: dialect.insert(table).on_conflict_do_nothing().returning(returning)
        for name, dialect in (("postgresql", postgresql), ("sqlite", sqlite))
    }
