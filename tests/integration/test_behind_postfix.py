"""guichet behind a real Postfix (Debian's package, a throw-away instance per test) and relaying through one.

    customers (127.0.0.1x) ─▶ Postfix "mx" ─XFORWARD─▶ guichet ─▶ workers ─▶ Postfix "relay" ─▶ sink

The main.cf lines below are the ones docs/operations.md ("Behind Postfix") recommends."""

from __future__ import annotations

import concurrent.futures
import smtplib
import time
from email.message import EmailMessage

import pytest
from sqlalchemy import select

from ingest.config_files import config_dir
from tests.support.postfix import Postfix, inline
from tests.support.processes import smtp_listener
from tests.support.services import free_port
from tests.support.stack import UNLIMITED_ACKS, Stack, stack_settings
from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.schema import AckRow, EventRow, IntakeRow

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CLIENTS = [f"127.0.0.{n}" for n in range(11, 17)]
MX_SOURCE = "127.0.0.3"  # Postfix connects to guichet from here: the trusted relay


def mx(guichet_port: int) -> Postfix:
    """Postfix as the MX: only our addresses, refused at RCPT otherwise; XFORWARD to guichet."""
    return Postfix(
        "mx",
        free_port(),
        {
            "relay_domains": "dri.example",
            "recipient_delimiter": "+",
            "relay_recipient_maps": inline(
                {"support@dri.example": "ok", "urgent@dri.example": "ok"}
            ),
            "transport_maps": inline({"dri.example": f"guichet:[127.0.0.1]:{guichet_port}"}),
            "message_size_limit": "41900000",
            "mynetworks": "127.0.0.1/32",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
        },
        f"guichet unix - - n - - smtp\n"
        f"  -o smtp_send_xforward_command=yes\n  -o smtp_bind_address={MX_SOURCE}\n",
    )


def relay(sink_port: int) -> Postfix:
    """Postfix as guichet's relay: guichet's address in mynetworks, customers' domains to the sink."""
    to_sink = f"smtp:[127.0.0.1]:{sink_port}"
    return Postfix(
        "relay",
        free_port(),
        {
            "mynetworks": "127.0.0.1/32",
            "smtpd_relay_restrictions": "permit_mynetworks, reject",
            "smtpd_recipient_restrictions": "check_recipient_access "
            + inline({"refused.example": "REJECT 5.7.1 no acknowledgements here"})
            + ", permit",
            "transport_maps": inline({"example.org": to_sink, "armor-logistique.fr": to_sink}),
        },
    )


class Guichet:
    """The listener as its own process (so it can be down), workers in this one."""

    def __init__(self, tmp_path, redis_url, relay_address: str | None, **overrides):
        values = dict(
            smtp_hostname="guichet.test.invalid",
            smtp_trusted_relays=[MX_SOURCE],
            limits_exempt=[],
            **UNLIMITED_ACKS,
        )
        database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        self.settings = stack_settings(
            tmp_path / "home", database, redis_url, relay_address, **(values | overrides)
        )
        self.logs, self.listener = tmp_path / "logs", None
        upgrade(self.settings.database)
        self.stack = Stack(self.settings)
        self.stack.import_directory(config_dir() / "directory-demo.csv")
        self.stack.start_workers()

    @property
    def port(self) -> int:
        return int(self.settings.smtp_listen.rpartition(":")[2])

    def listen(self) -> Guichet:
        self.listener = smtp_listener(self.settings, self.logs)
        return self

    def stop(self) -> None:
        if self.listener:
            self.listener.stop()
        self.stack.stop_workers()

    def rows(self, model, *where):
        with session_factory(self.settings.database)() as session:
            return list(session.scalars(select(model).where(*where)))

    def wait(self, model, count: int, *where, timeout: float = 90):
        deadline = time.monotonic() + timeout
        while len(rows := self.rows(model, *where)) < count and time.monotonic() < deadline:
            time.sleep(0.2)
        return rows


def mail(n: int, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = sender, "support@dri.example"
    message["Subject"] = f"Question {n} sur la zone DNS"
    message["Message-ID"] = f"<burst-{n}@example.org>"
    message.set_content(f"Bonjour,\n\nla demande numéro {n}.\n\nClient 20481\n")
    return message


def deliver(port: int, message: EmailMessage, source: str) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30, source_address=(source, 0)) as smtp:
        smtp.send_message(message)


@pytest.fixture
def guichet_factory(tmp_path, redis_url):
    made = []

    def make(relay_address, **overrides):
        made.append(Guichet(tmp_path, redis_url, relay_address, **overrides))
        return made[-1]

    yield make
    for one in made:
        one.stop()


@pytest.fixture
def instances():
    started: list[Postfix] = []
    yield started
    for instance in started:
        instance.remove()


def test_a_burst_through_postfix_is_ticketed_once_per_mail_with_each_real_client_address(
    guichet_factory, instances, sink
):
    outbound = relay(sink.port)
    guichet = guichet_factory(
        f"127.0.0.1:{outbound.port}", message_rate_per_ip="12/minute", max_connections_per_ip=3
    ).listen()
    inbound = mx(guichet.port)
    instances.extend([outbound.start(), inbound.start()])
    burst = [(n, CLIENTS[n % len(CLIENTS)]) for n in range(60)]  # 10 per client address
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        sent = [
            pool.submit(deliver, inbound.port, mail(n, f"client{n}@example.org"), source)
            for n, source in burst
        ]
        [future.result() for future in sent]
    intakes = guichet.wait(IntakeRow, 60)
    assert len(intakes) == 60
    # Without XFORWARD all 60 would count against Postfix's address (limit: 12 a minute).
    assert sorted({i.client_ip for i in intakes}) == CLIENTS
    assert "status=deferred" not in inbound.log()
    assert inbound.wait_log("status=sent (250 2.0.0 Ok: queued as ", 60) == 60
    acks = sink.handler.wait_for(60, timeout=90)
    assert len(acks) == 60 and {a["mail_from"] for a in acks} == {"<>"}
    assert sorted(a["rcpt_tos"][0] for a in acks) == sorted(
        f"client{n}@example.org" for n, _ in burst
    )


def test_unknown_addresses_are_refused_at_rcpt_by_postfix_and_nothing_is_bounced_later(
    guichet_factory, instances
):
    guichet = guichet_factory(None).listen()
    inbound = mx(guichet.port)
    instances.append(inbound.start())
    with smtplib.SMTP("127.0.0.1", inbound.port, source_address=(CLIENTS[0], 0)) as smtp:
        smtp.ehlo("client.example")
        smtp.mail("someone@example.org")
        assert smtp.rcpt("sales@dri.example")[0] == 550
        assert smtp.rcpt("support+20481@dri.example")[0] == 250
        assert smtp.rcpt("someone@elsewhere.example")[0] == 554  # no open relay
        smtp.rset()
    assert inbound.queued() == []


def test_while_guichet_is_down_postfix_defers_and_delivers_everything_once_it_is_back(
    guichet_factory, instances
):
    guichet = guichet_factory(None)  # not listening yet
    inbound = mx(guichet.port)
    instances.append(inbound.start())
    for n in range(5):
        deliver(inbound.port, mail(n, f"client{n}@example.org"), CLIENTS[0])
    assert inbound.wait_log("status=deferred", 5) >= 5  # each tried at least once
    assert len(inbound.queued()) == 5 and guichet.rows(IntakeRow) == []
    guichet.listen()
    inbound.flush()
    assert len(guichet.wait(IntakeRow, 5)) == 5
    assert inbound.wait_log("status=sent", 5) == 5
    time.sleep(2)
    assert inbound.queued() == [] and len(guichet.rows(IntakeRow)) == 5


def test_while_the_relay_is_down_acknowledgements_wait_and_go_out_once_when_it_is_back(
    guichet_factory, instances, sink
):
    outbound = relay(sink.port)
    instances.append(outbound)
    guichet = guichet_factory(f"127.0.0.1:{outbound.port}").listen()
    for n in range(3):
        deliver(guichet.port, mail(n, f"client{n}@example.org"), "127.0.0.1")
    deferred = guichet.wait(EventRow, 3, EventRow.kind == "ack-deferred")
    assert len({e.intake_id for e in deferred}) == 3 and sink.handler.messages == []
    outbound.start()
    assert len(sink.handler.wait_for(3, timeout=60)) == 3
    time.sleep(3 * guichet.settings.sweep_interval + guichet.settings.sweep_grace)
    assert len(sink.handler.messages) == 3
    assert {a.status for a in guichet.rows(AckRow)} == {"sent"}


def test_a_permanent_refusal_from_the_relay_is_recorded_and_never_retried(
    guichet_factory, instances, sink
):
    outbound = relay(sink.port)
    instances.append(outbound.start())
    guichet = guichet_factory(f"127.0.0.1:{outbound.port}").listen()
    deliver(guichet.port, mail(1, "someone@refused.example"), "127.0.0.1")
    [ack] = guichet.wait(AckRow, 1, AckRow.status == "refused")
    assert ack.attempts == 1 and ack.error.startswith("554 5.7.1 ")
    [event] = guichet.rows(EventRow, EventRow.kind == "ack-refused")
    assert event.ticket_id == ack.ticket_id and event.detail["stage"] == "RCPT TO"
    time.sleep(4 * (guichet.settings.sweep_interval + guichet.settings.sweep_grace))
    assert outbound.wait_log("reject: RCPT", timeout=0) == 1
    assert guichet.rows(AckRow)[0].attempts == 1 and sink.handler.messages == []
