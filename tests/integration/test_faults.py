"""Nothing lost, nothing twice: load over SMTP while Redis crashes, a worker is killed, the database goes away."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email
import email.policy
import smtplib
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

from ingest.config_files import config_dir
from tests.support import processes
from tests.support.mail import customer_mail, send
from tests.support.services import SinkHandler, free_port
from tests.support.stack import UNLIMITED_ACKS, stack_settings
from workers.store.directory import read_csv, store_accounts
from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.schema import AckRow, EventRow, IntakeRow, MessageRow, TicketRow

pytestmark = pytest.mark.integration

CLIENTS = 6
DEADLINE = 150  # seconds for the whole load + recovery; the test fails rather than hang


# -- the load ---------------------------------------------------------------------------


def fault_mail(index: int) -> EmailMessage:
    message = EmailMessage()
    sender = f"client{index % 40}@customer{index % 7}.example"
    message["From"] = f"Client {index % 40} <{sender}>"
    message["To"] = "support@dri.example"
    message["Subject"] = f"Demande {index:05d} : question sur la facturation"
    message["Message-ID"] = f"<fault-{index}@customer.example>"
    message.set_content(f"Bonjour,\n\nDemande numéro {index:05d}.\n\nMerci.\n")
    return message


@dataclass
class Load:
    """Several SMTP clients; each resends a message refused with 4xx until it is accepted."""

    address: tuple[str, int]
    count: int
    accepted: dict[int, str] = field(default_factory=dict)  # index → "queued as" id
    refusals: list[tuple[int, int, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, stop_at: float) -> None:
        threads = [
            threading.Thread(target=self._client, args=(c, stop_at), daemon=True)
            for c in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(max(0.0, stop_at - time.monotonic()) + 5)

    def _client(self, client: int, stop_at: float) -> None:
        smtp = None
        for index in range(client, self.count, CLIENTS):
            message = fault_mail(index)
            data = message.as_bytes(policy=email.policy.SMTP)
            backoff = 0.05
            while time.monotonic() < stop_at:
                try:
                    smtp = smtp or self._connect()
                    code, reply = self._send(smtp, message, data)
                except (smtplib.SMTPException, OSError) as exc:
                    with self.lock:
                        self.failures.append(f"{index}: {exc!r}")
                    smtp = None
                    time.sleep(backoff)
                    continue
                if code == 250:
                    with self.lock:
                        self.accepted[index] = reply
                    break
                with self.lock:
                    self.refusals.append((index, code, reply))
                if code == 421:
                    smtp = None
                time.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
        if smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                smtp.quit()

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(*self.address, timeout=30)
        smtp.ehlo("client.example")
        return smtp

    @staticmethod
    def _send(smtp: smtplib.SMTP, message: EmailMessage, data: bytes) -> tuple[int, str]:
        smtp.rset()
        code, reply = smtp.mail(message["From"].addresses[0].addr_spec)
        if code == 250:
            code, reply = smtp.rcpt("support@dri.example")
        if code == 250:
            code, reply = smtp.data(data)
        return code, reply.decode()


# -- the stack as child processes -------------------------------------------------------


class Pipeline:
    """Listener and workers as real processes, on a test-owned Redis and database."""

    def __init__(self, tmp_path, database_url: str, sink_address: str, workers: int = 2):
        self.logs = tmp_path / "logs"
        self.redis = processes.RestartableRedis(tmp_path / "redis", free_port()).start()
        self.settings = stack_settings(
            tmp_path / "home",
            database_url,
            self.redis.url,
            sink_address,
            **UNLIMITED_ACKS,
            worker_threads=4,
            parse_processes=1,
            sweep_interval=1.0,
            sweep_grace=3.0,
        )
        upgrade(self.settings.database)
        accounts, _ = read_csv(config_dir() / "directory-demo.csv")
        with session_factory(self.settings.database).begin() as session:
            store_accounts(session, accounts.values())
        self.workers = [processes.worker(self.settings, self.logs, "worker-1")]
        self.listener = processes.smtp_listener(self.settings, self.logs)
        for n in range(2, workers + 1):
            self.workers.append(processes.worker(self.settings, self.logs, f"worker-{n}"))
        self.sessions = session_factory(self.settings.database)

    @property
    def smtp_address(self) -> tuple[str, int]:
        host, _, port = self.settings.smtp_listen.rpartition(":")
        return host, int(port)

    def kill_a_worker(self) -> None:
        self.workers[0].kill()
        name = f"worker-{len(self.workers) + 1}"
        self.workers.append(processes.worker(self.settings, self.logs, name))

    def stop(self) -> None:
        self.listener.stop(20)
        for role in self.workers:
            role.stop(20)
        self.redis.stop()

    def logs_tail(self) -> str:
        roles = [self.listener, *self.workers]
        return "\n".join(f"--- {r.log_path.name}\n{r.log()[-2500:]}" for r in roles)

    def counts(self) -> dict:
        with self.sessions() as session:
            acks = dict(
                session.execute(select(AckRow.status, func.count()).group_by(AckRow.status)).all()
            )
            intakes = dict(
                session.execute(
                    select(IntakeRow.status, func.count()).group_by(IntakeRow.status)
                ).all()
            )
            return {
                "tickets": session.scalar(select(func.count(TicketRow.id))),
                "acks": acks,
                "intakes": intakes,
            }

    def settled(self, expected_tickets: int, sink) -> bool:
        c = self.counts()
        acks_open = sum(n for s, n in c["acks"].items() if s in ("pending", "sending"))
        sent = c["acks"].get("sent", 0)
        return (
            c["tickets"] >= expected_tickets
            and c["intakes"].get("received", 0) == 0
            and acks_open == 0
            and len(sink.handler.messages) >= sent
        )


def wait_settled(pipeline: Pipeline, expected: int, sink, deadline: float) -> None:
    while time.monotonic() < deadline and not pipeline.settled(expected, sink):
        time.sleep(0.5)
    time.sleep(pipeline.settings.sweep_grace + 2)  # a quiet period: late duplicates would show


def assert_exactly_once(pipeline: Pipeline, load: Load, sink) -> None:
    assert not [r for r in load.refusals if not 400 <= r[1] < 500], "a refusal was not 4xx"
    assert all(r[2].startswith("4.") for r in load.refusals), load.refusals[:5]
    assert len(load.accepted) == load.count, (
        f"only {len(load.accepted)}/{load.count} accepted in time; "
        f"{len(load.failures)} failures, e.g. {load.failures[:3]}\n{pipeline.logs_tail()}"
    )
    with pipeline.sessions() as session:
        per_subject = collections.Counter(session.scalars(select(TicketRow.subject)).all())
        stuck = session.scalars(select(IntakeRow.id).where(IntakeRow.status == "received")).all()
        acks = session.execute(
            select(AckRow.id, AckRow.status, AckRow.message_id, AckRow.attempts).where(
                AckRow.status != "skipped"
            )
        ).all()
        messages = session.scalar(select(func.count(MessageRow.id)))
    expected = {fault_mail(i)["Subject"] for i in range(load.count)}
    assert set(per_subject) == expected, f"counts: {pipeline.counts()}\n{pipeline.logs_tail()}"
    assert [s for s, n in per_subject.items() if n != 1] == [], "a message made two tickets"
    assert messages == load.count and stuck == []
    assert len(acks) == load.count, "every ticket of this load is acknowledgeable"
    assert [a for a in acks if a.status != "sent"] == [], pipeline.counts()
    delivered = collections.Counter(
        email.message_from_bytes(m["data"], policy=email.policy.default)["Message-ID"].strip("<>")
        for m in sink.handler.messages
    )
    assert set(delivered) == {a.message_id for a in acks}, "an acknowledgement is missing"
    assert [mid for mid, n in delivered.items() if n > 1] == [], "an acknowledgement went twice"


def run_load(pipeline: Pipeline, load: Load, faults) -> None:
    """Send `load` while applying each fault once `share` of it has been accepted."""
    stop_at = time.monotonic() + DEADLINE
    runner = threading.Thread(target=load.run, args=(stop_at,), daemon=True)
    runner.start()
    for share, fault in faults:
        while runner.is_alive() and len(load.accepted) < share * load.count:
            time.sleep(0.05)
        fault()
    runner.join(max(0.0, stop_at - time.monotonic()) + 10)


# -- the tests --------------------------------------------------------------------------


def test_a_thousand_mails_survive_two_redis_crashes_and_a_killed_worker_exactly_once(
    tmp_path, sink
):
    pipeline = Pipeline(tmp_path, f"sqlite:///{tmp_path / 'guichet.sqlite3'}", sink.address)
    try:
        started = time.monotonic()
        load = Load(pipeline.smtp_address, 1000)
        crash = pipeline.redis.crash_and_restart
        run_load(pipeline, load, [(0.15, crash), (0.40, pipeline.kill_a_worker), (0.65, crash)])
        wait_settled(pipeline, load.count, sink, started + DEADLINE + 30)
        assert pipeline.redis.restarts == 2
        assert_exactly_once(pipeline, load, sink)
    finally:
        pipeline.stop()


class Outage:
    """Refuse every connection to one test database for a while, then allow them again.

    Only that database: the shared server's other databases are untouched."""

    def __init__(self, postgres, database_url: str, load: Load, seconds: float = 6):
        self.postgres, self.load, self.seconds = postgres, load, seconds
        self.name = database_url.rsplit("/", 1)[-1].split("?")[0]
        self.refusals: list[tuple[int, int, str]] = []

    def __call__(self) -> None:
        before = len(self.load.refusals)
        self.set(allowed=False)
        time.sleep(self.seconds)
        self.refusals = self.load.refusals[before:]
        self.set(allowed=True)

    def set(self, allowed: bool) -> None:
        with self.postgres.admin.connect() as conn:
            flag = "true" if allowed else "false"
            conn.execute(text(f'ALTER DATABASE "{self.name}" ALLOW_CONNECTIONS {flag}'))
            if not allowed:
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = :name AND pid <> pg_backend_pid()"
                    ),
                    {"name": self.name},
                )


def test_on_postgresql_a_database_outage_answers_451_and_then_everything_is_filed_exactly_once(
    tmp_path, sink, postgres
):
    """The PostgreSQL variant: the database goes away, Redis crashes, a worker is killed."""
    database_url = postgres.create()
    pipeline = Pipeline(tmp_path, database_url, sink.address)
    load = Load(pipeline.smtp_address, 400)
    outage = Outage(postgres, database_url, load)
    try:
        started = time.monotonic()
        crash = pipeline.redis.crash_and_restart
        run_load(pipeline, load, [(0.2, crash), (0.35, pipeline.kill_a_worker), (0.5, outage)])
        wait_settled(pipeline, load.count, sink, started + DEADLINE + 30)
        assert outage.refusals, "nothing was refused while the database was away"
        assert {(code, reply[:6]) for _, code, reply in outage.refusals} == {(451, "4.3.0 ")}
        assert_exactly_once(pipeline, load, sink)
    finally:
        outage.set(allowed=True)
        pipeline.stop()


# -- a worker killed while it sends an acknowledgement ----------------------------------


class GatedSink(SinkHandler):
    """A relay that stalls every session at MAIL FROM until the gate opens."""

    def __init__(self):
        super().__init__()
        self.gate, self.stalled = threading.Event(), threading.Event()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.stalled.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.05)
        envelope.mail_from = address
        return "250 OK"


@contextlib.contextmanager
def stalled_acknowledgement(tmp_path, handler):
    """One worker, one customer mail, its acknowledgement held by `handler` (a gated relay)."""
    relay = Controller(handler, hostname="127.0.0.1", port=free_port())
    relay.start()
    pipeline = Pipeline(
        tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}", f"127.0.0.1:{relay.port}", workers=1
    )
    try:
        assert send(pipeline.smtp_address, customer_mail())[0] == 250
        assert handler.stalled.wait(30), pipeline.logs_tail()
        yield pipeline
    finally:
        handler.gate.set()
        pipeline.stop()
        relay.stop()


def test_an_acknowledgement_whose_worker_died_mid_send_is_sent_once_by_another(tmp_path):
    handler = GatedSink()
    with stalled_acknowledgement(tmp_path, handler) as pipeline:
        assert pipeline.counts()["acks"] == {"sending": 1}
        pipeline.kill_a_worker()  # dies holding the claim, before the relay took anything
        handler.gate.set()
        delivered = handler.wait_for(1, timeout=30)
        time.sleep(pipeline.settings.sweep_grace + 1)
        assert len(handler.messages) == len(delivered) == 1
        with pipeline.sessions() as session:
            ack = session.scalar(select(AckRow))
            kinds = session.scalars(
                select(EventRow.kind).where(EventRow.intake_id == ack.intake_id)
            )
            assert (ack.status, ack.attempts) == ("sent", 2)
            assert "ack-reclaimed" in list(kinds)


class ReplyGatedSink(SinkHandler):
    """A relay that takes the message at the end of DATA, then holds its 250 until the gate
    opens: the worker is killed after the relay has the message, before it knows."""

    def __init__(self):
        super().__init__()
        self.gate, self.stalled = threading.Event(), threading.Event()

    async def handle_DATA(self, server, session, envelope):
        reply = await super().handle_DATA(server, session, envelope)  # taken, like a queue file
        self.stalled.set()
        while not self.gate.is_set():
            await asyncio.sleep(0.05)
        return reply


def test_an_acknowledgement_the_relay_took_from_a_worker_killed_before_its_reply_goes_once(
    tmp_path,
):
    handler = ReplyGatedSink()
    with stalled_acknowledgement(tmp_path, handler) as pipeline:
        # Recorded before the end of DATA went out: nothing left for the sweeper to resend.
        assert pipeline.counts()["acks"] == {"sent": 1}
        pipeline.kill_a_worker()
        handler.gate.set()
        time.sleep(pipeline.settings.sweep_grace + pipeline.settings.sweep_interval + 2)
        assert len(handler.messages) == 1
        with pipeline.sessions() as session:
            ack = session.scalar(select(AckRow))
            kinds = list(
                session.scalars(select(EventRow.kind).where(EventRow.intake_id == ack.intake_id))
            )
            assert (ack.status, ack.attempts) == ("sent", 1)
            assert "ack-reclaimed" not in kinds and kinds.count("ack-sent") == 1
