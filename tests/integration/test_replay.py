"""`guichet replay PATH` as a person runs it: mbox, Maildir, .eml folder; resumable, deduplicated."""

from __future__ import annotations

import email.policy
import json
import mailbox
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from ingest.config_files import config_dir
from ingest.queueing import ROUTINE_QUEUE, URGENT_QUEUE
from tests.support.mail import TIMER_OUTLASTING_BODY, customer_mail
from tests.support.processes import ROOT, settings_env
from tests.support.services import free_port
from tests.support.stack import stack_settings
from workers.running.worker_process import start_worker
from workers.store.directory import read_csv, store_accounts
from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.schema import AckRow, IntakeRow, PageRow, TicketRow

pytestmark = pytest.mark.integration

SENDERS = [
    ("Jean-François Hervé", "jf.herve@armor-logistique.fr", "20481"),
    ("Yann Le Goff", "yann@legoff-boulangerie.fr", "10234"),
    ("Thomas Guillou", "thomas.guillou@ouest-medias.fr", "42118"),
    ("Claire Picard", "claire@atelier-picard.com", "55630"),
]
LAST_YEAR = datetime(2025, 3, 4, 10, 30, tzinfo=UTC)


def archived(index: int, *, when: datetime | None = None, body: str | None = None) -> bytes:
    name, address, client = SENDERS[index % len(SENDERS)]
    message = customer_mail(
        sender=address,
        name=name,
        subject=f"Demande {index:04d} sur l'hébergement",
        body=body
        or f"Bonjour,\n\nQuestion {index} sur notre hébergement.\n\n{name}\nClient {client}\n",
        message_id=f"<archive-{index}@{address.rpartition('@')[2]}>",
        headers={"Date": format_datetime(when or LAST_YEAR + timedelta(hours=index))},
    )
    return message.as_bytes(policy=email.policy.default)


def write_mbox(path: Path, raws: list[bytes]) -> Path:
    box = mailbox.mbox(path)
    box.lock()
    for raw in raws:
        box.add(raw)
    box.flush()
    box.unlock()
    box.close()
    return path


class Home:
    """A guichet home with the demo directory, and the `guichet replay` command run in it."""

    def __init__(self, tmp_path: Path, redis_url: str, sink_address: str, **overrides):
        self.settings = stack_settings(
            tmp_path / "home",
            f"sqlite:///{tmp_path / 'guichet.sqlite3'}",
            redis_url,
            sink_address,
            **overrides,
        )
        upgrade(self.settings.database)
        accounts, problems = read_csv(config_dir() / "directory-demo.csv")
        assert not problems
        with session_factory(self.settings.database).begin() as session:
            store_accounts(session, accounts.values())
        self.redis = redis.Redis.from_url(redis_url)

    def command(self, *args: str, **env: str) -> list[str]:
        return [sys.executable, "-m", "workers.cli.main", "replay", *args]

    def replay(self, *args: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args),
            env=settings_env(self.settings, **env),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def count(self, model, *where) -> int:
        with session_factory(self.settings.database)() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))

    def rows(self, model) -> list:
        with session_factory(self.settings.database)() as session:
            return list(session.scalars(select(model)))

    def queued(self) -> int:
        """Ticket messages waiting on the queues (nobody consumes them in these tests)."""
        return sum(self.redis.hlen(f"dramatiq:{q}.msgs") for q in (ROUTINE_QUEUE, URGENT_QUEUE))

    def settle(self, tickets: int, timeout: float = 60) -> None:
        stop = start_worker(self.settings, threads=4)
        try:
            deadline = time.monotonic() + timeout
            while self.count(TicketRow) < tickets and time.monotonic() < deadline:
                time.sleep(0.1)
            while self.count(AckRow, AckRow.status.in_(["pending", "sending"])) and (
                time.monotonic() < deadline
            ):
                time.sleep(0.1)
        finally:
            stop(5_000)


@pytest.fixture
def home(tmp_path, redis_url, sink):
    return Home(tmp_path, redis_url, sink.address)


@pytest.mark.slow
def test_an_mbox_of_1000_mails_replayed_twice_adds_nothing_the_second_time(tmp_path, home):
    path = write_mbox(tmp_path / "export.mbox", [archived(i) for i in range(1000)])
    first = home.replay(str(path))
    assert first.returncode == 0, first.stderr[-3000:]
    assert "1000 taken in (0 unreadable, kept for review), 0 already there" in first.stdout
    assert home.count(IntakeRow) == 1000
    assert home.queued() == 1000
    again = home.replay(str(path))
    assert again.returncode == 0, again.stderr[-3000:]
    assert "all 1000 messages" in again.stdout and "nothing new" in again.stdout
    from_scratch = home.replay("--restart", str(path))
    assert from_scratch.returncode == 0, from_scratch.stderr[-3000:]
    assert "0 taken in (0 unreadable, kept for review), 1000 already there" in from_scratch.stdout
    assert home.count(IntakeRow) == 1000
    assert home.queued() == 1000


def test_an_interrupted_replay_continues_where_it_stopped(tmp_path, home):
    total = 150
    path = write_mbox(tmp_path / "export.mbox", [archived(i) for i in range(total)])
    process = subprocess.Popen(
        home.command(str(path)),
        env=settings_env(home.settings),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while home.count(IntakeRow) < 30 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)  # Ctrl-C
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err[-3000:]
    assert "run the same command again to continue" in err
    done = home.count(IntakeRow)
    assert 30 <= done < total
    rest = home.replay(str(path))
    assert rest.returncode == 0, rest.stderr[-3000:]
    assert "resuming" in rest.stderr
    assert home.count(IntakeRow) == total
    assert home.queued() == total


@pytest.fixture(params=["parser thread", "parser process"])
def replaying_home(request, tmp_path, redis_url, sink):
    """A home whose replay analyses in a thread, or in a parser process as in production: a
    process hands back the decision already encoded for the journal, and what replay changes in
    the decision must be in what is stored all the same."""
    processes = 0 if request.param == "parser thread" else 1
    return Home(tmp_path, redis_url, sink.address, parse_processes=processes)


def test_replayed_mail_keeps_its_date_is_ticketed_and_neither_acknowledged_nor_paged(
    tmp_path, replaying_home, sink
):
    home = replaying_home
    outage = "Bonjour,\n\nNotre serveur dédié est en panne, c'est bloquant.\n\nJean-François Hervé\nClient 20481\n"
    raws = [archived(0, body=outage), archived(1), archived(2)]
    path = write_mbox(tmp_path / "old.mbox", raws)
    result = home.replay(str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    home.settle(tickets=3)
    tickets = home.rows(TicketRow)
    assert len(tickets) == 3
    assert any(t.urgency == "urgent" for t in tickets)
    intakes = sorted(home.rows(IntakeRow), key=lambda i: i.received_at)
    assert [i.received_at for i in intakes] == [LAST_YEAR + timedelta(hours=h) for h in range(3)]
    assert {i.channel for i in intakes} == {"replay"}
    assert {i.source for i in intakes} == {"replay:old.mbox"}
    for intake in intakes:  # the journal stored the decision as replay adjusted it
        assert intake.decision["suppression"]["skip_reason"] == "replayed-archive"
        assert [f["field"] for f in intake.decision["trail"] if f["rule"] == "replay"] == [
            "page",
            "acknowledge",
        ]
    acks = home.rows(AckRow)
    assert {(a.status, a.skip_reason) for a in acks} == {("skipped", "replayed-archive")}
    assert home.count(PageRow) == 0
    assert sink.handler.messages == []


def test_with_ack_replayed_mail_is_acknowledged(tmp_path, home, sink):
    path = write_mbox(tmp_path / "recent.mbox", [archived(1, when=datetime.now(UTC))])
    result = home.replay("--ack", str(path))
    assert result.returncode == 0, result.stderr[-3000:]
    home.settle(tickets=1)
    assert [a.status for a in home.rows(AckRow)] == ["sent"]
    assert sink.handler.wait_for(1)[0]["rcpt_tos"] == ["yann@legoff-boulangerie.fr"]


def test_a_dry_run_prints_a_decision_per_message_and_stores_nothing(tmp_path, home):
    path = write_mbox(tmp_path / "old.mbox", [archived(i) for i in range(3)])
    human = home.replay("--dry-run", str(path))
    assert human.returncode == 0, human.stderr[-3000:]
    lines = human.stdout.strip().splitlines()
    assert len(lines) == 3
    assert "verified 20481" in lines[0] and "no ack (replayed-archive)" in lines[0]
    machine = home.replay("--dry-run", "--json", str(path))
    reports = [json.loads(line) for line in machine.stdout.splitlines()]
    assert [r["replay"]["position"] for r in reports] == [1, 2, 3]
    assert reports[0]["identity"]["client_number"] == "20481"
    assert reports[0]["ack"] is None
    assert any(f["rule"] == "replay" and f["field"] == "page" for f in reports[0]["trail"])
    assert home.count(IntakeRow) == 0
    assert home.replay(str(path)).returncode == 0
    after = home.replay("--dry-run", str(path)).stdout.splitlines()
    assert all("already taken in" in line for line in after)


def test_a_maildir_and_a_folder_of_eml_files_are_replayed_like_an_mbox(tmp_path, home):
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    for index in range(3):
        maildir.add(archived(index))
    emls = tmp_path / "exported"
    (emls / "2025").mkdir(parents=True)
    for index in range(3, 6):
        (emls / "2025" / f"{index}.eml").write_bytes(archived(index))
    for path in (tmp_path / "Maildir", emls):
        result = home.replay(str(path))
        assert result.returncode == 0, result.stderr[-3000:]
        assert "3 taken in" in result.stdout
    assert {i.source for i in home.rows(IntakeRow)} == {"replay:Maildir", "replay:exported"}


def test_a_message_the_parser_rejects_is_replayed_for_review(tmp_path, redis_url, sink):
    home = Home(tmp_path, redis_url, sink.address, parse_processes=1)
    # The limit is a CPU-time timer checked at the kernel's tick: a long mail takes many ticks,
    # so the parser gives up on it whatever the machine (a short one could finish first).
    path = write_mbox(tmp_path / "old.mbox", [archived(0, body=TIMER_OUTLASTING_BODY)])
    result = home.replay(str(path), GUICHET_PARSE_TIMEOUT="0.000001")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "1 taken in (1 unreadable, kept for review)" in result.stdout
    (intake,) = home.rows(IntakeRow)
    assert "time limit" in intake.error


def test_a_path_that_is_no_archive_is_refused_with_what_was_expected(tmp_path, home):
    notes = tmp_path / "notes.txt"
    notes.write_text("not mail\n")
    result = home.replay(str(notes))
    assert result.returncode == 2
    assert "neither an mbox" in result.stderr
    assert "Traceback" not in result.stderr


def test_without_the_queue_replay_says_what_to_start_and_takes_nothing(tmp_path, sink):
    home = Home(tmp_path, f"redis://127.0.0.1:{free_port()}/0", sink.address)
    path = write_mbox(tmp_path / "old.mbox", [archived(0)])
    result = home.replay(str(path))
    assert result.returncode == 2
    assert "cannot reach Redis" in result.stderr and "REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert home.count(IntakeRow) == 0
