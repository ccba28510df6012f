"""The whole pipeline on free ports inside the test process: SMTP listener, workers, real Redis and DB."""

from __future__ import annotations

import asyncio
import smtplib
import threading
import time
from pathlib import Path

from sqlalchemy import func, select

from ingest.config_files import config_dir
from ingest.settings import Settings
from tests.support.services import free_port
from workers.running.edges import serve_smtp
from workers.running.worker_process import start_worker
from workers.store.directory import read_csv, store_accounts
from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.queries import list_tickets, ticket_detail
from workers.store.schema import AckRow, IntakeRow

# Load tests acknowledge every mail: no budget of any kind stops them (docs/security.md).
UNLIMITED_ACKS = dict(
    ack_rate_limit=1_000_000, ack_rate_domain_limit=1_000_000, ack_rate_global_limit=1_000_000
)


def stack_settings(
    home: Path, database_url: str, redis_url: str, relay: str, **overrides
) -> Settings:
    values = dict(
        home=home,
        database_url=database_url,
        redis_url=redis_url,
        smtp_listen=f"127.0.0.1:{free_port()}",
        http_listen=f"127.0.0.1:{free_port()}",
        smtp_relay=relay,
        parse_processes=0,  # parser in a thread: fast start; the skeleton test runs real processes
        sweep_interval=1.0,
        sweep_grace=3.0,
        worker_threads=4,
        log_format="text",
        ack_retry_first=0.5,  # a relay back after an outage is tried again within seconds
        ack_retry_longest=2.0,
    )
    values.update(overrides)
    return Settings(**values)


def busy_settings(home: Path, database_url: str, redis_url: str, relay: str) -> Settings:
    """8 worker threads and no acknowledgement limit: for tests of many mails filed at once."""
    return stack_settings(home, database_url, redis_url, relay, worker_threads=8, **UNLIMITED_ACKS)


class Stack:
    def __init__(self, settings: Settings, clock=None):
        self.settings = settings
        self.options = {"clock": clock} if clock else {}
        self._stop_worker = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def start(self, workers: bool = True) -> Stack:
        upgrade(self.settings.database)
        self.import_directory(config_dir() / "directory-demo.csv")
        if workers:
            self.start_workers()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._wait_listening()
        return self

    def start_workers(self) -> None:
        self._stop_worker = start_worker(self.settings, threads=self.settings.worker_threads)

    def stop_workers(self) -> None:
        if self._stop_worker:
            self._stop_worker(5_000)
            self._stop_worker = None

    def import_directory(self, path: Path) -> None:
        accounts, problems = read_csv(path)
        assert not problems, problems
        with session_factory(self.settings.database).begin() as session:
            store_accounts(session, accounts.values())

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._stopping = asyncio.Event()
        self._loop.run_until_complete(serve_smtp(self.settings, self._stopping, **self.options))

    def _wait_listening(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with smtplib.SMTP(*self.smtp_address, timeout=2) as smtp:
                    smtp.noop()
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("SMTP listener did not start")

    @property
    def smtp_address(self) -> tuple[str, int]:
        host, _, port = self.settings.smtp_listen.rpartition(":")
        return host, int(port)

    def stop(self) -> None:
        if self._loop and self._stopping:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(20)
        self.stop_workers()

    def tickets(self) -> list[dict]:
        with session_factory(self.settings.database)() as session:
            return list_tickets(session, 10_000)

    def ticket(self, number: int) -> dict:
        with session_factory(self.settings.database)() as session:
            return ticket_detail(session, number)

    def wait_tickets(self, count: int, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.tickets()
            if len(rows) >= count:
                return rows
            time.sleep(0.1)
        return self.tickets()

    def settle(self, timeout: float = 90, quiet: float = 0.5) -> None:
        """Wait until every intake is filed and no acknowledgement is still on its way."""
        sessions = session_factory(self.settings.database)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with sessions() as session:
                open_intakes = session.scalar(
                    select(func.count(IntakeRow.id)).where(IntakeRow.status == "received")
                )
                open_acks = session.scalar(
                    select(func.count(AckRow.id)).where(AckRow.status.in_(["pending", "sending"]))
                )
            if not open_intakes and not open_acks:
                time.sleep(quiet)  # late duplicates would show in this quiet moment
                return
            time.sleep(0.1)
        raise AssertionError("intakes or acknowledgements still open")
