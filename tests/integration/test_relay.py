"""Acknowledgements through a real SMTP relay that refuses, stalls, asks for a login or speaks TLS."""

from __future__ import annotations

import ssl
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select

from tests.support.certs import self_signed
from tests.support.mail import customer_mail, send
from tests.support.services import SinkHandler, free_port
from tests.support.stack import Stack, stack_settings
from workers.store.engine import session_factory
from workers.store.schema import AckRow, EventRow

pytestmark = pytest.mark.integration


class Relay(SinkHandler):
    """A relay that answers RCPT with `answers` in turn (then 250), counting every attempt."""

    def __init__(self, *answers: str):
        super().__init__()
        self.answers, self.attempts, self.logins = list(answers), 0, []
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self.lock:
            self.attempts += 1
            answer = self.answers.pop(0) if self.answers else None
        if answer:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        if isinstance(auth_data, LoginPassword) and auth_data.password == b"s3cret":
            self.logins.append((auth_data.login.decode(), session.ssl is not None))
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


def serve(relay: Relay, **options) -> Controller:
    controller = Controller(relay, hostname="127.0.0.1", port=free_port(), **options)
    controller.start()
    return controller


def server_tls(tmp_path):
    """A self-signed certificate and the server context that presents it."""
    cert, key = self_signed(tmp_path / "tls")
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(cert, key)
    return cert, tls


def run(tmp_path, redis_url, controller: Controller, **overrides) -> Stack:
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = stack_settings(
        tmp_path / "home", database, redis_url, f"127.0.0.1:{controller.port}", **overrides
    )
    return Stack(settings).start()


def ack_row(stack: Stack, wanted: set[str], timeout: float = 30) -> AckRow:
    deadline = time.monotonic() + timeout
    while True:
        with session_factory(stack.settings.database)() as session:
            ack = session.scalar(select(AckRow))
            if (ack is not None and ack.status in wanted) or time.monotonic() > deadline:
                return ack
        time.sleep(0.1)


def trail(stack: Stack) -> list[EventRow]:
    with session_factory(stack.settings.database)() as session:
        return list(session.scalars(select(EventRow).order_by(EventRow.id)))


def test_a_permanent_refusal_ends_the_attempt_is_recorded_and_never_retried(tmp_path, redis_url):
    relay = Relay("550 5.1.1 <jf.herve@armor-logistique.fr>: mailbox unknown")
    controller = serve(relay)
    stack = run(tmp_path, redis_url, controller)
    try:
        assert send(stack.smtp_address, customer_mail())[0] == 250
        ack = ack_row(stack, {"refused"})
        assert (ack.status, ack.attempts) == ("refused", 1)
        assert ack.error.startswith("550 5.1.1 <jf.herve@armor-logistique.fr>: mailbox unknown")
        [refused] = [e for e in trail(stack) if e.kind == "ack-refused"]
        assert (refused.detail["code"], refused.detail["stage"]) == (550, "RCPT TO")
        assert refused.ticket_id == ack.ticket_id
        time.sleep(3 * (stack.settings.sweep_interval + stack.settings.sweep_grace))
        assert relay.attempts == 1 and ack_row(stack, {"refused"}).attempts == 1
    finally:
        stack.stop()
        controller.stop()


def test_a_temporary_refusal_is_retried_by_one_chain_with_back_off_until_delivered(
    tmp_path, redis_url
):
    relay = Relay(*["451 4.3.0 try again later"] * 4)
    controller = serve(relay)
    # Sweeps far more often than the chain retries: none of them may start a second chain.
    stack = run(
        tmp_path, redis_url, controller, sweep_interval=0.3, sweep_grace=0.5, ack_retry_first=1.0
    )
    try:
        assert send(stack.smtp_address, customer_mail())[0] == 250
        assert len(relay.wait_for(1, timeout=60)) == 1
        ack = ack_row(stack, {"sent"})
        time.sleep(3)  # any stray chain would show up as more attempts
        deferred = [e for e in trail(stack) if e.kind == "ack-deferred"]
        assert (ack.status, ack.attempts, relay.attempts) == ("sent", 5, 5)
        assert [e.detail["attempt"] for e in deferred] == [1, 2, 3, 4]
        assert len(relay.messages) == 1
    finally:
        stack.stop()
        controller.stop()


def test_the_relay_login_goes_over_starttls_checked_against_the_given_ca(tmp_path, redis_url):
    cert, tls = server_tls(tmp_path)
    relay = Relay()
    controller = serve(
        relay, tls_context=tls, require_starttls=True, authenticator=relay.authenticate
    )
    stack = run(
        tmp_path,
        redis_url,
        controller,
        smtp_relay_username="guichet",
        smtp_relay_password="s3cret",
        smtp_relay_tls="starttls",
        smtp_relay_ca_file=cert,
    )
    try:
        assert send(stack.smtp_address, customer_mail())[0] == 250
        assert len(relay.wait_for(1, timeout=30)) == 1
        assert relay.logins == [("guichet", True)]
        assert relay.messages[0]["mail_from"] == "<>"  # the empty envelope sender
    finally:
        stack.stop()
        controller.stop()


def test_implicit_tls_to_the_relay_verifies_its_certificate(tmp_path, redis_url):
    cert, tls = server_tls(tmp_path)
    relay = Relay()
    controller = serve(relay, ssl_context=tls)
    stack = run(tmp_path, redis_url, controller, smtp_relay_tls="implicit")  # no CA given
    try:
        assert send(stack.smtp_address, customer_mail())[0] == 250
        ack = ack_row(stack, {"pending"}, timeout=10)
        while ack.attempts == 0:
            ack = ack_row(stack, {"pending"})
        assert "CERTIFICATE_VERIFY_FAILED" in (ack.error or ""), ack.error
        assert relay.messages == []
    finally:
        stack.stop()
    stack = run(tmp_path, redis_url, controller, smtp_relay_tls="implicit", smtp_relay_ca_file=cert)
    try:
        assert len(relay.wait_for(1, timeout=30)) == 1  # the same acknowledgement, now verified
        assert ack_row(stack, {"sent"}).status == "sent"
    finally:
        stack.stop()
        controller.stop()


def test_the_relay_password_is_never_sent_over_a_plain_connection(tmp_path, redis_url):
    relay = Relay()
    controller = serve(relay, auth_require_tls=False, authenticator=relay.authenticate)
    stack = run(
        tmp_path, redis_url, controller, smtp_relay_username="guichet", smtp_relay_password="s3cret"
    )
    try:
        assert send(stack.smtp_address, customer_mail())[0] == 250
        ack = ack_row(stack, {"pending"})
        while not ack.error:
            ack = ack_row(stack, {"pending"})
        assert "refusing to send the relay password over a plain connection" in ack.error
        assert relay.logins == [] and relay.messages == []
    finally:
        stack.stop()
        controller.stop()
