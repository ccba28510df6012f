"""A page due now is sent once, whoever asks: its claim and its outcome go through the worker
process's group commit (`Runtime.writes`), shared with whatever other threads write at the same
moment, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.support.stack import stack_settings
from workers import paging
from workers.running.runtime import Runtime
from workers.store.migrate import upgrade
from workers.store.schema import EventRow, PageRow, TicketRow, utcnow

pytestmark = pytest.mark.integration


@pytest.fixture
def rt(tmp_path, database_url, redis_url):
    upgrade(database_url)
    return Runtime(stack_settings(tmp_path / "home", database_url, redis_url, "127.0.0.1:1"))


@pytest.fixture
def sent(monkeypatch) -> list[dict]:
    """What reached the on-call team (the delivery itself is replaced: no relay needed)."""
    payloads: list[dict] = []
    lock = threading.Lock()

    def deliver(rt, payload):
        with lock:
            payloads.append(payload)
        return ["test"]

    monkeypatch.setattr(paging, "_deliver", deliver)
    return payloads


def _page(rt: Runtime, due_in: timedelta, trust: str = "verified") -> int:
    with rt.sessions.begin() as session:
        ticket = TicketRow(number=1001, subject="Serveur arrêté", urgency="urgent")
        session.add(ticket)
        session.flush()
        page = PageRow(ticket_id=ticket.id, due_at=utcnow() + due_in, sender_trust=trust)
        session.add(page)
        session.flush()
        return page.id


def _row(rt: Runtime, page_id: int) -> PageRow:
    with rt.sessions() as session:
        return session.get(PageRow, page_id)


def test_eight_threads_asking_at_once_send_a_due_page_once_and_record_it_once(rt, sent):
    page_id = _page(rt, timedelta(0), trust="unknown")
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: paging.send_if_due(rt, page_id), range(8)))
    assert sorted(outcomes) == ["already handled"] * 7 + ["sent"]
    assert len(sent) == 1
    assert sent[0]["subject"] == "Serveur arrêté" and sent[0]["urgency"] == "urgent"
    assert sent[0]["sender_flag"] == " (sender not verified)"  # an unknown sender says so
    row = _row(rt, page_id)
    assert row.status == "sent" and row.sent_at is not None
    with rt.sessions() as session:
        paged = session.scalars(select(EventRow).where(EventRow.kind == "paged")).all()
    assert [(e.ticket_id, e.detail["targets"]) for e in paged] == [(row.ticket_id, ["test"])]


def test_a_page_due_later_is_left_scheduled_with_the_wait(rt, sent):
    page_id = _page(rt, timedelta(hours=1))
    wait = paging.send_if_due(rt, page_id)
    assert 3500 < wait <= 3600
    assert _row(rt, page_id).status == "scheduled" and sent == []


def test_a_delivery_that_fails_leaves_the_page_scheduled_for_the_next_attempt(
    rt, sent, monkeypatch
):
    page_id = _page(rt, timedelta(0))
    working = paging._deliver

    def refused(rt, payload):
        raise OSError("relay down")

    monkeypatch.setattr(paging, "_deliver", refused)
    with pytest.raises(OSError):
        paging.send_if_due(rt, page_id)
    row = _row(rt, page_id)
    assert row.status == "scheduled" and row.error == "relay down"
    monkeypatch.setattr(paging, "_deliver", working)
    assert paging.send_if_due(rt, page_id) == "sent"
    assert len(sent) == 1 and _row(rt, page_id).status == "sent"
