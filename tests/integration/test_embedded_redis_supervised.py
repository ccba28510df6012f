"""`guichet run` keeps its embedded Redis alive: a kill -9, twice, in the middle of a 200-mail run
is followed by a restart on the same data, the roles reconnect, what the restart lost from
the queues is re-enqueued at once, and every accepted mail becomes a ticket exactly once."""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import create_engine, text

from tests.support.mail import customer_mail, send
from tests.support.running import ROOT, GuichetRun, embedded_redis_pid

pytestmark = [pytest.mark.integration, pytest.mark.slow]
MAILS = 200


def _send_until_accepted(address, mail) -> str:
    """Like an MTA: a temporary refusal (451 while Redis is away) is retried."""
    for _ in range(120):
        try:
            code, reply = send(address, mail)
        except OSError:
            code, reply = 421, ""
        if code == 250:
            return re.search(r"queued as (\w+)", reply).group(1)
        assert 400 <= code < 500, reply
        time.sleep(0.5)
    raise AssertionError(f"{mail['Message-ID']} never accepted")


def test_two_kill_9_of_the_embedded_redis_during_200_mails_loses_nothing_and_files_each_once(
    tmp_path,
):
    home = tmp_path / "home"
    # A sweep interval far longer than the test: only the recovery on reconnect can save
    # what the kill took from the queues.
    run = GuichetRun.from_checkout(
        home, tmp_path / "run.log", GUICHET_SWEEP_INTERVAL="3600", GUICHET_SWEEP_GRACE="3600"
    )
    assert run.cli("directory", "import", str(ROOT / "config/directory-demo.csv")).returncode == 0
    run.start()
    accepted: list[str] = []
    marks = {MAILS // 4: threading.Event(), MAILS // 2: threading.Event()}
    mails = [customer_mail(subject=f"Question {i} sur la zone DNS") for i in range(MAILS)]
    try:

        def one(i: int) -> str:
            intake = _send_until_accepted(run.smtp, mails[i])
            accepted.append(intake)
            for count, reached in marks.items():
                if len(accepted) >= count:
                    reached.set()
            return intake

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(one, i) for i in range(MAILS)]
            killed = []
            for reached in marks.values():  # twice: at a quarter and at half of the mails
                assert reached.wait(300)
                killed.append(embedded_redis_pid(home))
                os.kill(killed[-1], signal.SIGKILL)
                while embedded_redis_pid(home, missing_ok=True) in (None, killed[-1]):
                    time.sleep(0.1)  # restarted: a new server on the same data
            results = [f.result() for f in futures]
        assert len(set(results)) == MAILS
        assert embedded_redis_pid(home) not in killed

        engine = create_engine(f"sqlite:///{home / 'guichet.sqlite3'}")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            with engine.connect() as connection:
                waiting = connection.scalar(
                    text("SELECT count(*) FROM intakes WHERE status = 'received'")
                )
            if waiting == 0:
                break
            time.sleep(1)
        with engine.connect() as connection:
            statuses = dict(connection.execute(text("SELECT id, status FROM intakes")).all())
            filed = dict(
                connection.execute(
                    text("SELECT message_id, count(*) FROM messages GROUP BY message_id")
                ).all()
            )
            tickets = connection.scalar(text("SELECT count(*) FROM tickets"))
        # A mail refused with 451 after it was stored (Redis gone before the enqueue) and
        # sent again is one ticket: the stored copy is filed, the resent one is a duplicate.
        assert {statuses[i] for i in results} <= {"ticketed", "duplicate"}
        assert "received" not in statuses.values()
        assert {filed.get(m["Message-ID"].strip("<>")) for m in mails} == {1}
        assert tickets == MAILS
    finally:
        assert run.stop() == 0, run.log()[-3000:]
    log = run.log()
    assert "embedded Redis restarted on the same data" in log
    assert "Redis is back" in log
