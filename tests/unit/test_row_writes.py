"""A filing's rows written in Core (workers/store/row_writes.py): one statement each, the object
then held by the session as a row just read — its defaults as the ORM would have given them,
found again with no SELECT, a later change still flushed, nothing left dirty by `update_row`."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event
from sqlalchemy.orm import sessionmaker

from workers.store.row_writes import insert_row, update_row
from workers.store.schema import Base, MessageRow, TicketRow


@pytest.fixture
def sessions(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 'rows.sqlite3'}")
    Base.metadata.create_all(engine)
    statements: list[str] = []
    event.listen(
        engine, "before_cursor_execute", lambda *args: statements.append(args[2].split()[0])
    )
    factory = sessionmaker(engine, expire_on_commit=False)
    factory.statements = statements
    return factory


def test_a_row_is_one_insert_and_then_found_in_the_session_with_no_select(sessions):
    with sessions() as session, session.begin():
        ticket = insert_row(session, TicketRow(subject="Panne", requester="a@b.fr"))
        assert sessions.statements == ["INSERT"]
        assert session.get(TicketRow, ticket.id) is ticket
        assert sessions.statements == ["INSERT"]  # no SELECT: in the identity map
        assert not session.dirty and not session.new


def test_unset_columns_get_the_defaults_the_orm_would_have_written(sessions):
    with sessions() as session, session.begin():
        ticket = insert_row(session, TicketRow(subject="Panne"))
        message = insert_row(
            session, MessageRow(ticket_id=ticket.id, intake_id="i1", dedup_key="k")
        )
    with sessions() as session:
        stored = session.get(TicketRow, ticket.id)
        for column in TicketRow.__table__.columns:
            assert getattr(stored, column.key) == getattr(ticket, column.key), column.key
        assert (ticket.status, ticket.urgency, ticket.auth, ticket.number) == (
            "open",
            "routine",
            {},
            None,
        )
        assert ticket.created_at is not None and ticket.created_at.tzinfo is not None
        read = session.get(MessageRow, message.id)
        assert (read.attachments, read.defects, read.text) == ([], [], "")


def test_update_row_writes_once_and_a_later_orm_change_is_still_flushed(sessions):
    with sessions() as session, session.begin():
        ticket = insert_row(session, TicketRow(subject="Panne"))
        update_row(session, ticket, number=ticket.id + 100000)
        assert sessions.statements == ["INSERT", "UPDATE"]
        assert ticket.number == ticket.id + 100000 and not session.dirty  # held as loaded
        ticket.review = "urgent, but not paged"  # as a refused page notes it
    assert sessions.statements[-1] == "UPDATE"
    with sessions() as session:
        stored = session.get(TicketRow, ticket.id)
        assert (stored.number, stored.review) == (ticket.id + 100000, "urgent, but not paged")
