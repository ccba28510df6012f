"""Trail lines are written in one INSERT at their transaction's commit, in the order they were
added, and never outlive a transaction that did not commit."""

from __future__ import annotations

from sqlalchemy import func, select

from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.records import event
from workers.store.schema import EventRow


def _sessions(tmp_path):
    url = f"sqlite:///{tmp_path / 'trail.sqlite3'}"
    upgrade(url)
    return session_factory(url)


def _kinds(sessions) -> list[str]:
    with sessions() as session:
        return list(session.scalars(select(EventRow.kind).order_by(EventRow.id)))


def test_lines_are_written_at_the_commit_in_their_order(tmp_path):
    sessions = _sessions(tmp_path)
    with sessions.begin() as session:
        for kind in ("created", "ack-pending", "page-scheduled", "ack-claimed"):
            event(session, kind, "intake-1", None, step=kind)
        assert session.scalar(select(func.count(EventRow.id))) == 0  # waiting for the commit
    assert _kinds(sessions) == ["created", "ack-pending", "page-scheduled", "ack-claimed"]
    with sessions() as session:
        details = list(session.scalars(select(EventRow.detail).order_by(EventRow.id)))
    assert details[0] == {"step": "created"}


def test_lines_of_a_rolled_back_transaction_are_forgotten(tmp_path):
    sessions = _sessions(tmp_path)
    with sessions() as session:
        session.scalar(select(func.count(EventRow.id)))  # a transaction under way, as in a filing
        event(session, "lost", "intake-1", None)
        session.rollback()
        event(session, "kept", "intake-1", None)
        session.commit()
    assert _kinds(sessions) == ["kept"]


def test_lines_of_a_closed_session_do_not_reach_its_next_transaction(tmp_path):
    sessions = _sessions(tmp_path)
    session = sessions()
    session.scalar(select(func.count(EventRow.id)))
    event(session, "lost", "intake-1", None)
    session.close()
    event(session, "kept", "intake-1", None)
    session.commit()
    session.close()
    assert _kinds(sessions) == ["kept"]
