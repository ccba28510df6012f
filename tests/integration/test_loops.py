"""No mail loops: guichet against a badly-behaved autoresponder, and two guichet instances facing each other."""

from __future__ import annotations

import email
import email.policy
import smtplib
import threading
import time
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from tests.support import processes
from tests.support.mail import customer_mail, send
from tests.support.services import free_port
from tests.support.stack import stack_settings
from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.schema import AckRow, IntakeRow, TicketRow

pytestmark = pytest.mark.integration

QUIET = 6.0  # seconds without any new mail before the counts are read
BOUND = 60.0  # the loop must have stopped by then


class Instance:
    """One guichet (listener + worker processes, own Redis and SQLite) for one support address."""

    def __init__(self, tmp_path, name: str, relay: str, listen: str | None = None):
        self.redis = processes.RestartableRedis(tmp_path / name / "redis", free_port()).start()
        domain = f"{name}.example"
        overrides = {"smtp_listen": listen} if listen else {}
        self.settings = stack_settings(
            tmp_path / name / "home",
            f"sqlite:///{tmp_path / name / 'guichet.sqlite3'}",
            self.redis.url,
            relay,
            support_addresses=[f"support@{domain}"],
            urgent_addresses=[f"urgent@{domain}"],
            ack_from=f"support@{domain}",
            **overrides,
        )
        upgrade(self.settings.database)
        logs = tmp_path / name / "logs"
        self.worker = processes.worker(self.settings, logs)
        self.listener = processes.smtp_listener(self.settings, logs)
        self.sessions = session_factory(self.settings.database)

    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.settings.smtp_listen.rpartition(":")
        return host, int(port)

    def acks_sent(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count(AckRow.id)).where(AckRow.status == "sent"))

    def intakes(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count(IntakeRow.id)))

    def tickets(self) -> int:
        with self.sessions() as session:
            return session.scalar(select(func.count(TicketRow.id)))

    def stop(self) -> None:
        self.listener.stop(20)
        self.worker.stop(20)
        self.redis.stop()


def wait_quiet(activity) -> None:
    """Until `activity()` has not changed for QUIET seconds; fails if it never settles."""
    deadline, last, since = time.monotonic() + BOUND, activity(), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = activity()
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= QUIET:
            return
    raise AssertionError(f"still looping after {BOUND}s: {last}")


# -- guichet against an autoresponder ---------------------------------------------------


class Autoresponder:
    """Answers every mail it receives, honouring nothing (no RFC 3834, no X-Auto-Response-
    Suppress, no Precedence) and adding no marker of its own. It replies to the envelope
    sender, or to From when that is empty, through guichet's listener. Styles:
    `re-subject` quotes the subject; `in-reply-to` threads but invents a subject."""

    def __init__(self, guichet: tuple[str, int] | None = None):
        self.guichet = guichet
        self.received: list[dict] = []
        self.replies = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.received.append({"rcpt": list(envelope.rcpt_tos), "message": message})
        threading.Thread(target=self._reply, args=(envelope, message), daemon=True).start()
        return "250 2.0.0 Ok"

    def _reply(self, envelope, message) -> None:
        me = envelope.rcpt_tos[0]
        to = (envelope.mail_from or "").strip("<>") or message["From"].addresses[0].addr_spec
        reply = EmailMessage()
        reply["From"], reply["To"] = me, to
        if me.startswith("re-subject"):
            reply["Subject"] = "Re: " + str(message["Subject"])
        else:
            reply["Subject"] = "Je suis en congés"
            reply["In-Reply-To"] = message["Message-ID"]
        reply.set_content("Je suis absent jusqu'au 3 décembre, sans accès à mes messages.\n")
        with smtplib.SMTP(*self.guichet, timeout=30) as smtp:
            smtp.send_message(reply, from_addr=me, to_addrs=[to])
        with self.lock:
            self.replies += 1


@pytest.mark.parametrize("style", ["re-subject", "in-reply-to"])
def test_guichet_and_a_badly_behaved_autoresponder_exchange_at_most_one_mail_each(tmp_path, style):
    responder = Autoresponder()
    relay = Controller(responder, hostname="127.0.0.1", port=free_port())
    relay.start()
    guichet = Instance(tmp_path, "dri", f"127.0.0.1:{relay.port}")
    responder.guichet = guichet.address
    customer = f"{style}@customer.example"
    try:
        mail = customer_mail(sender=customer, name="Client Absent", to="support@dri.example")
        assert send(guichet.address, mail)[0] == 250
        wait_quiet(lambda: (len(responder.received), responder.replies, guichet.intakes()))
        assert len(responder.received) == 1, "guichet acknowledged the autoresponder"
        assert responder.replies == 1
        assert guichet.intakes() == 2  # the customer's mail and the out-of-office, both kept
        assert guichet.tickets() == 1  # the out-of-office joined the customer's ticket
    finally:
        guichet.stop()
        relay.stop()


# -- two guichet instances whose support addresses acknowledge each other ---------------


def test_two_guichet_instances_acknowledging_each_other_send_at_most_one_acknowledgement_each(
    tmp_path,
):
    listen_a, listen_b = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    a = Instance(tmp_path, "a", relay=listen_b, listen=listen_a)
    b = Instance(tmp_path, "b", relay=listen_a, listen=listen_b)
    try:
        # Each support desk writes to the other (a misrouted forward, a shared customer…).
        to_a = customer_mail(sender="support@b.example", name="Support B", to="support@a.example")
        to_b = customer_mail(sender="support@a.example", name="Support A", to="support@b.example")
        assert send(a.address, to_a)[0] == 250
        assert send(b.address, to_b)[0] == 250
        wait_quiet(lambda: (a.intakes(), b.intakes(), a.acks_sent(), b.acks_sent()))
        assert (a.acks_sent(), b.acks_sent()) == (1, 1)
        assert (a.intakes(), b.intakes()) == (2, 2)  # the other's mail and its acknowledgement
    finally:
        a.stop()
        b.stop()
