"""A page due now is sent once, whoever asks: its claim and its outcome go through the worker
process's group commit (`Runtime.writes`), shared with whatever other threads write at the same
moment, on SQLite and PostgreSQL. A page whose worker died while sending it is not sent again,
and its ticket tells the desk to make sure the on-call team knows."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.support.running import ROOT
from tests.support.stack import stack_settings
from workers import paging, sweeper
from workers.pids import claimant
from workers.running.runtime import Runtime
from workers.store.migrate import upgrade
from workers.store.records import Plan, record_page
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


@pytest.mark.parametrize("claimed_at_filing", [False, True])
def test_a_delivery_that_fails_leaves_the_page_scheduled_for_the_next_attempt(
    rt, sent, monkeypatch, claimed_at_filing
):
    """Claimed by `send_if_due`, or by the filing with its ticket (`send_claimed`): a relay that
    refuses puts the page back to `scheduled`, and `page_oncall`'s next attempt sends it."""
    if claimed_at_filing:
        _scheduled, [page] = _filed_with_page(rt, timedelta(0))
        page_id = page.page_id
    else:
        page_id = _page(rt, timedelta(0))
    working = paging._deliver

    def refused(rt, payload):
        raise OSError("relay down")

    monkeypatch.setattr(paging, "_deliver", refused)
    with pytest.raises(OSError):
        paging.send_claimed(rt, page) if claimed_at_filing else paging.send_if_due(rt, page_id)
    row = _row(rt, page_id)
    assert row.status == "scheduled" and row.error == "relay down"
    monkeypatch.setattr(paging, "_deliver", working)
    assert paging.send_if_due(rt, page_id) == "sent"
    assert len(sent) == 1 and _row(rt, page_id).status == "sent"


CLAIM_THEN_DIE = """
import os, sys
from pathlib import Path
from tests.support.running import ROOT
from tests.support.stack import stack_settings
from workers import paging, sweeper
from workers.running.runtime import Runtime

home, database_url, redis_url, page_id = sys.argv[1:]
rt = Runtime(stack_settings(Path(home), database_url, redis_url, "127.0.0.1:1"))
paging._deliver = lambda rt, payload: os._exit(3)  # killed while paging, before the outcome
paging.send_if_due(rt, int(page_id))
"""


def test_a_page_whose_worker_died_while_sending_is_not_resent_and_the_ticket_says_so(
    rt, sent, tmp_path, database_url, redis_url
):
    page_id = _page(rt, timedelta(0))
    died = subprocess.run(
        [
            sys.executable,
            "-c",
            CLAIM_THEN_DIE,
            str(tmp_path / "home"),
            database_url,
            redis_url,
            str(page_id),
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert died.returncode == 3, died.stderr
    assert _row(rt, page_id).status == "sending"  # claimed, outcome never recorded

    assert sweeper._abandoned_pages(rt, timedelta(0)) == 1
    row = _row(rt, page_id)
    assert row.status == "unknown"
    assert row.error.startswith("claimant pid ") and row.error.endswith(" is gone")
    with rt.sessions() as session:
        ticket = session.get(TicketRow, row.ticket_id)
        kinds = session.scalars(select(EventRow.kind).order_by(EventRow.id)).all()
    assert "make sure the on-call team knows" in ticket.review
    assert kinds[-2:] == ["page-claimed", "page-unknown"]
    assert sent == []  # at most once: not sent again
    assert paging.send_if_due(rt, page_id) == "already handled"
    assert sweeper._abandoned_pages(rt, timedelta(0)) == 0  # told once


def test_a_page_being_sent_by_a_live_worker_is_left_alone(rt, sent):
    page_id = _page(rt, timedelta(0))
    ticket_id, _payload = rt.writes.run(lambda session: paging._claim(session, page_id))
    assert sweeper._abandoned_pages(rt, timedelta(0)) == 0  # its claimant (this process) lives
    assert _row(rt, page_id).status == "sending"
    with rt.sessions() as session:
        assert session.get(TicketRow, ticket_id).review is None


def _filed_with_page(rt: Runtime, due_in: timedelta, trust: str = "verified"):
    """A ticket and its page written by `records.record_page` in one transaction, as a filing
    writes them, claimed by this process when already due: (pages scheduled, pages claimed)."""
    plan = Plan(page_at=utcnow() + due_in, sender_trust=trust)
    with rt.sessions.begin() as session:
        ticket = TicketRow(
            number=1002, subject="Base de données arrêtée", urgency="urgent", client_number="42118"
        )
        session.add(ticket)
        session.flush()
        intake = SimpleNamespace(id="intake-filed")
        return record_page(session, intake, ticket, plan, new_ticket=True, claimant=claimant())


def test_a_page_due_at_filing_is_claimed_in_the_filing_commit_and_sent_once(rt, sent):
    scheduled, [page] = _filed_with_page(rt, timedelta(0), trust="unknown")
    assert scheduled == []
    assert _row(rt, page.page_id).status == "sending"  # committed claimed, with its ticket
    with rt.sessions() as session:
        kinds = session.scalars(select(EventRow.kind).order_by(EventRow.id)).all()
    assert kinds == ["page-scheduled", "page-claimed"]
    # Nobody else takes it: a worker asking for the same page finds it handled.
    assert paging.send_if_due(rt, page.page_id) == "already handled"
    assert sweeper._abandoned_pages(rt, timedelta(0)) == 0  # its claimant (this process) lives
    assert paging.send_claimed(rt, page) == "sent"
    assert len(sent) == 1
    assert sent[0]["ticket"] == 1002 and sent[0]["client_number"] == "42118"
    assert sent[0]["subject"] == "Base de données arrêtée" and sent[0]["urgency"] == "urgent"
    assert sent[0]["sender_flag"] == " (sender not verified)"  # as a page claimed later says
    row = _row(rt, page.page_id)
    assert row.status == "sent" and row.sent_at is not None


def test_a_page_due_later_at_filing_is_only_scheduled(rt, sent):
    scheduled, claimed = _filed_with_page(rt, timedelta(hours=2))
    assert claimed == [] and len(scheduled) == 1
    assert _row(rt, scheduled[0]).status == "scheduled" and sent == []
