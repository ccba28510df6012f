"""`guichet fetch` against a real Dovecot: ticketed once, moved, restartable, reconnecting, IDLE."""

from __future__ import annotations

import asyncio
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from ingest.config_files import config_dir
from ingest.edges.imap_fetch import Surroundings, fetch_all
from ingest.edges.imap_session import TAKEN
from ingest.settings import Settings
from tests.support import processes
from tests.support.dovecot import TOKEN, Dovecot, dovecot_binary
from tests.support.mail import TIMER_OUTLASTING_BODY, customer_mail
from tests.support.services import free_port, unavailable
from tests.support.stack import stack_settings
from workers.cli.fetching import serve_fetch
from workers.cli.sources import address_book, stored_intake
from workers.running.worker_process import start_worker
from workers.store.directory import read_csv, store_accounts
from workers.store.engine import session_factory
from workers.store.mail_sources import SqlFetchProgress
from workers.store.migrate import upgrade
from workers.store.schema import AckRow, IntakeRow, TicketRow
from workers.store.schema_mail_sources import FetchProgressRow

pytestmark = pytest.mark.integration

PROCESSED, REJECTED = "guichet.processed", "guichet.rejected"  # Dovecot's Maildir++ hierarchy


@pytest.fixture
def dovecot():
    if dovecot_binary() is None:
        unavailable("dovecot", "not installed (apt-get install dovecot-imapd)")
    server = Dovecot()
    try:
        server.start()
    except Exception as exc:  # noqa: BLE001
        log = server.log()
        server.close()
        unavailable("dovecot", f"{exc}\n{log}")
    yield server
    server.close()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'guichet.sqlite3'}"


def settings_for(tmp_path, database_url, redis_url, sink, *boxes: dict, **overrides) -> Settings:
    settings = stack_settings(
        tmp_path / "home", database_url, redis_url, sink.address, mailboxes=list(boxes), **overrides
    )
    upgrade(settings.database)
    accounts, problems = read_csv(config_dir() / "directory-demo.csv")
    assert not problems
    with session_factory(settings.database).begin() as session:
        store_accounts(session, accounts.values())
    return settings


LONG_BODY = TIMER_OUTLASTING_BODY


def mail(index: int, **options) -> bytes:
    """A customer's mail as a delivery agent leaves it in the mailbox."""
    message = customer_mail(
        subject=f"Demande {index:03d} : zone DNS",
        message_id=f"<imap-{index}@armor-logistique.fr>",
        **options,
    )
    delivered = message["To"].addresses[0].addr_spec
    head = f"Return-Path: <jf.herve@armor-logistique.fr>\r\nDelivered-To: {delivered}\r\n"
    return head.encode() + message.as_bytes(policy=email.policy.SMTP)


class Fetching:
    """`serve_fetch` in a thread of the test process, stopped like SIGTERM would."""

    def __init__(self, settings: Settings, serve: Callable | None = None):
        self.settings, self.serve = settings, serve or serve_fetch
        self.loop = asyncio.new_event_loop()
        self.stopping = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop.run_until_complete(self.serve(self.settings, self.stopping))

    def __enter__(self) -> Fetching:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.stopping.set)
        self.thread.join(30)
        assert not self.thread.is_alive(), "the fetcher did not stop"


def rows(settings: Settings, model) -> list:
    with session_factory(settings.database)() as session:
        return list(session.scalars(select(model)))


def count(settings: Settings, model) -> int:
    with session_factory(settings.database)() as session:
        return session.scalar(select(func.count()).select_from(model))


def wait_until(condition: Callable[[], bool], timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what or condition}")


@pytest.fixture
def workers():
    stops = []

    def start(settings: Settings) -> None:
        stops.append(start_worker(settings, threads=4))

    yield start
    for stop in stops:
        stop(5_000)


# -- the tests ----------------------------------------------------------------------------


def test_each_message_is_ticketed_once_and_moved_to_the_processed_folder(
    tmp_path, database_url, redis_url, sink, dovecot, workers
):
    for index in range(5):
        dovecot.append(mail(index))
    settings = settings_for(tmp_path, database_url, redis_url, sink, dovecot.mailbox())
    workers(settings)
    with Fetching(settings):
        wait_until(lambda: dovecot.count(PROCESSED) == 5, what="5 messages moved")
        wait_until(lambda: count(settings, TicketRow) == 5, what="5 tickets")
    assert dovecot.count("INBOX") == 0
    intakes = rows(settings, IntakeRow)
    assert len(intakes) == 5
    assert {i.channel for i in intakes} == {"imap"}
    assert {i.source for i in intakes} == {"imap:support"}
    assert {i.envelope_sender for i in intakes} == {"jf.herve@armor-logistique.fr"}
    assert {tuple(i.recipients) for i in intakes} == {("support@dri.example",)}
    wait_until(lambda: len(sink.handler.messages) == 5, what="5 acknowledgements")
    assert {a.recipient for a in rows(settings, AckRow)} == {"jf.herve@armor-logistique.fr"}


def test_several_mailboxes_are_read_side_by_side(tmp_path, sqlite_url, redis_url, sink, dovecot):
    with dovecot.client() as client:
        client.create_folder("Urgent")
    dovecot.append(mail(1))
    dovecot.append(mail(2, to="urgent@dri.example"), folder="Urgent")
    settings = settings_for(
        tmp_path,
        sqlite_url,
        redis_url,
        sink,
        dovecot.mailbox(),
        dovecot.mailbox(name="urgent", folder="Urgent", address="urgent@dri.example"),
    )
    with Fetching(settings):
        wait_until(lambda: count(settings, IntakeRow) == 2, what="both mailboxes read")
        wait_until(lambda: dovecot.count(PROCESSED) == 2, what="both moved")
    sources = {i.source: i.recipients for i in rows(settings, IntakeRow)}
    assert sources == {
        "imap:support": ["support@dri.example"],
        "imap:urgent": ["urgent@dri.example"],
    }


def test_a_restart_mid_run_adds_nothing(tmp_path, sqlite_url, redis_url, sink, dovecot, workers):
    total = 40
    for index in range(total):
        dovecot.append(mail(index))
    settings = settings_for(tmp_path, sqlite_url, redis_url, sink, dovecot.mailbox())
    env = {"GUICHET_MAILBOXES": json.dumps([dovecot.mailbox()])}
    first = processes.Role("fetch", settings, tmp_path / "logs", "fetch-1", env).start()
    try:
        wait_until(lambda: count(settings, IntakeRow) >= 8, what="a first part taken in")
    finally:
        first.kill()  # SIGKILL: no chance to finish the message in hand or log out
    taken_before = count(settings, IntakeRow)
    assert taken_before < total, "the first run finished before it was killed"
    second = processes.Role("fetch", settings, tmp_path / "logs", "fetch-2", env).start()
    try:
        wait_until(lambda: dovecot.count(PROCESSED) == total, what="every message moved")
    finally:
        assert second.stop() == 0, second.log()[-3000:]
    assert dovecot.count("INBOX") == 0
    assert count(settings, IntakeRow) == total  # the message in hand at the kill: not twice
    workers(settings)
    wait_until(lambda: count(settings, TicketRow) == total, what="every message ticketed")
    assert count(settings, TicketRow) == total


class DropAfter:
    """A journal that drops the IMAP connection right after the Nth message is durable."""

    def __init__(self, journal, dovecot: Dovecot, after: int):
        self.journal, self.dovecot, self.after, self.recorded = journal, dovecot, after, 0
        self.killed = 0

    def record(self, *args) -> None:
        self.journal.record(*args)
        self.recorded += 1
        if self.recorded == self.after:
            self.killed = self.dovecot.kill_sessions()


def test_a_connection_dropped_mid_fetch_reconnects_and_loses_or_duplicates_nothing(
    tmp_path, sqlite_url, redis_url, sink, dovecot, workers
):
    total = 12
    for index in range(total):
        dovecot.append(mail(index))
    settings = settings_for(tmp_path, sqlite_url, redis_url, sink, dovecot.mailbox())
    drops = []

    async def serve(settings: Settings, stopping: asyncio.Event) -> None:
        stored, parser = stored_intake(settings, processes=0)
        drop = DropAfter(stored.intake.journal, dovecot, after=5)
        stored.intake.journal = drop
        drops.append(drop)
        around = Surroundings(
            stored,
            SqlFetchProgress(session_factory(settings.database)),
            address_book(settings),
            "support@dri.example",
            settings.max_message_size,
        )
        try:
            await fetch_all(settings.mailboxes, around, stopping)
        finally:
            parser.close()

    workers(settings)
    with Fetching(settings, serve):
        wait_until(lambda: dovecot.count(PROCESSED) == total, what="every message moved")
        wait_until(lambda: count(settings, TicketRow) == total, what="every message ticketed")
    assert drops[0].killed == 1, "the connection was not dropped"
    assert count(settings, IntakeRow) == total
    assert dovecot.count("INBOX") == 0


def test_a_server_that_goes_away_is_reconnected_to_when_it_is_back(
    tmp_path, sqlite_url, redis_url, sink, dovecot
):
    dovecot.append(mail(1))
    settings = settings_for(tmp_path, sqlite_url, redis_url, sink, dovecot.mailbox())
    with Fetching(settings):
        wait_until(lambda: dovecot.count(PROCESSED) == 1, what="the first message moved")
        dovecot.stop()
        time.sleep(1.5)  # the fetcher finds the server gone and backs off
        dovecot.start()
        dovecot.append(mail(2))
        wait_until(lambda: dovecot.count(PROCESSED) == 2, what="the second message moved")
    assert count(settings, IntakeRow) == 2


def test_a_message_the_parser_rejects_is_stored_traced_and_moved_aside(
    tmp_path, sqlite_url, redis_url, sink, dovecot, workers
):
    # A long mail and a time limit no parse can meet: the parser process gives up on it. (The
    # limit is a CPU-time timer, checked at the kernel's tick: a parse shorter than a tick could
    # finish before it fires, so the mail is long enough to take many ticks.)
    dovecot.append(mail(1, body=LONG_BODY))
    box = dovecot.mailbox()
    impatient = settings_for(tmp_path, sqlite_url, redis_url, sink, box, parse_processes=1)
    impatient = impatient.model_copy(update={"parse_timeout": 1e-6})
    with Fetching(impatient):
        wait_until(lambda: dovecot.count(REJECTED) == 1, what="the message set aside")
    settings = impatient.model_copy(update={"parse_timeout": 10.0})
    dovecot.append(mail(2))
    with Fetching(settings):
        wait_until(lambda: dovecot.count(PROCESSED) == 1, what="a readable message moved")
    workers(settings)
    wait_until(lambda: count(settings, TicketRow) == 2, what="both ticketed")
    rejected = next(i for i in rows(settings, IntakeRow) if i.error)
    assert "time limit" in rejected.error
    assert rejected.raw.endswith(mail(1, body=LONG_BODY)[-200:])  # stored as it was
    assert dovecot.count("INBOX") == 0  # the workers give it a second, longer analysis


def test_idle_picks_up_a_message_appended_while_waiting(
    tmp_path, sqlite_url, redis_url, sink, dovecot
):
    # Polling once an hour: only IDLE can explain the second message being taken in.
    settings = settings_for(
        tmp_path, sqlite_url, redis_url, sink, dovecot.mailbox(poll_interval=3600)
    )
    dovecot.append(mail(1))
    with Fetching(settings):
        wait_until(lambda: dovecot.count(PROCESSED) == 1, what="the first message")
        time.sleep(0.5)  # the fetcher is now waiting in IDLE
        dovecot.append(mail(2))
        wait_until(lambda: dovecot.count(PROCESSED) == 2, timeout=20, what="IDLE wake-up")
    assert count(settings, IntakeRow) == 2


def test_without_a_processed_folder_messages_are_flagged_and_never_read_twice(
    tmp_path, sqlite_url, redis_url, sink, dovecot
):
    box = dovecot.mailbox(processed_folder=None, rejected_folder=None)
    settings = settings_for(tmp_path, sqlite_url, redis_url, sink, box)
    for index in range(3):
        dovecot.append(mail(index))
    with Fetching(settings):
        wait_until(lambda: count(settings, IntakeRow) == 3, what="3 taken in")
        wait_until(lambda: all(TAKEN in f for f in dovecot.flags()), what="3 flagged as taken")
    assert dovecot.count("INBOX") == 3
    assert all(b"\\Seen" in f for f in dovecot.flags())
    progress = rows(settings, FetchProgressRow)
    assert [p.last_uid for p in progress] == [3]
    dovecot.append(mail(3))
    with Fetching(settings):
        wait_until(lambda: count(settings, IntakeRow) == 4, what="the new one taken in")
        wait_until(lambda: rows(settings, FetchProgressRow)[0].last_uid == 4, what="progress")
    assert count(settings, IntakeRow) == 4


@pytest.mark.parametrize("how", ["implicit TLS + XOAUTH2", "STARTTLS + password"])
def test_tls_and_both_logins_take_mail_in(tmp_path, sqlite_url, redis_url, sink, dovecot, how):
    token = tmp_path / "token"
    token.write_text(TOKEN + "\n")
    if how.startswith("implicit"):
        box = dovecot.mailbox(
            port=dovecot.tls_port,
            tls="implicit",
            auth="xoauth2",
            password=None,
            oauth2_token_file=str(token),
            ca_file=str(dovecot.cert),
        )
    else:
        box = dovecot.mailbox(tls="starttls", ca_file=str(dovecot.cert))
    settings = settings_for(tmp_path, sqlite_url, redis_url, sink, box)
    dovecot.append(mail(1))
    with Fetching(settings):
        wait_until(lambda: dovecot.count(PROCESSED) == 1, what="the message moved")
    assert "TLS" in dovecot.log()


def test_a_server_whose_certificate_is_not_trusted_is_never_given_the_password(
    tmp_path, sqlite_url, redis_url, sink, dovecot
):
    box = dovecot.mailbox(port=dovecot.tls_port, tls="implicit")  # no ca_file: self-signed refused
    settings = settings_for(tmp_path, sqlite_url, redis_url, sink, box)
    dovecot.append(mail(1))
    with Fetching(settings):
        wait_until(lambda: "SSL_accept() failed" in dovecot.log(), what="a refused handshake")
    assert count(settings, IntakeRow) == 0
    assert dovecot.count("INBOX") == 1
    assert not [line for line in dovecot.log().splitlines() if "Login:" in line and "TLS" in line]


def test_guichet_run_fetches_the_configured_mailboxes_as_one_of_its_roles(tmp_path, dovecot):
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        GUICHET_HOME=str(home),
        GUICHET_SMTP_LISTEN=f"127.0.0.1:{free_port()}",
        GUICHET_HTTP_LISTEN=f"127.0.0.1:{free_port()}",
        GUICHET_MAILBOXES=json.dumps([dovecot.mailbox()]),
        GUICHET_LOG_FORMAT="text",
        PYTHONPATH=str(processes.ROOT),
    )
    dovecot.append(mail(1))
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        run = subprocess.Popen(
            [sys.executable, "-m", "workers.cli.main", "run", "--no-web"],
            env=env,
            cwd=processes.ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        settings = Settings(home=home)
        wait_until(lambda: dovecot.count(PROCESSED) == 1, timeout=120, what="the message moved")
        wait_until(lambda: count(settings, TicketRow) == 1, timeout=60, what="its ticket")
    finally:
        run.send_signal(signal.SIGTERM)
        code = run.wait(90)
    assert code == 0, log.read_text()[-3000:]
    assert [i.source for i in rows(settings, IntakeRow)] == ["imap:support"]
