"""The listener as an MTA in front of it, or a sender, sees it: replies, greeting, TLS, XFORWARD."""

from __future__ import annotations

import re
import smtplib
import ssl

import pytest
from sqlalchemy import select

from tests.support.certs import self_signed
from tests.support.mail import customer_mail
from tests.support.stack import Stack, stack_settings
from tests.support.wire import Wire
from workers.store.engine import session_factory
from workers.store.schema import IntakeRow

pytestmark = pytest.mark.integration
ENHANCED = re.compile(r"^[245][0-9]{2}[ -][245]\.[0-9]{1,3}\.[0-9]{1,3}( |$)")
QUEUED = re.compile(r"^250 2\.0\.0 Ok: queued as ([0-9a-f]{32})$")
MESSAGE = (
    b"From: a@example.org\r\nTo: support@dri.example\r\nSubject: hello\r\n\r\nClient 20481\r\n"
)


def start(tmp_path, redis_url, sink, **overrides) -> Stack:
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    values = dict(smtp_hostname="mx.test.example", limits_exempt=[]) | overrides
    settings = stack_settings(tmp_path / "home", database, redis_url, sink.address, **values)
    return Stack(settings).start(workers=False)


@pytest.fixture
def listener(tmp_path, redis_url, sink):
    running = start(tmp_path, redis_url, sink, max_message_size=100_000)
    yield running
    running.stop()


@pytest.fixture
def relayed(tmp_path, redis_url, sink):
    running = start(
        tmp_path, redis_url, sink, smtp_trusted_relays=["127.0.0.1"], message_rate_per_ip="2/minute"
    )
    yield running
    running.stop()


def client_ips(stack: Stack) -> list[str]:
    with session_factory(stack.settings.database)() as session:
        return list(session.scalars(select(IntakeRow.client_ip).order_by(IntakeRow.received_at)))


def transaction(wire: Wire, sender: str = "a@example.org") -> list[str]:
    assert wire.command(f"MAIL FROM:<{sender}>")[0].startswith("250 ")
    assert wire.command("RCPT TO:<support@dri.example>")[0].startswith("250 ")
    assert wire.command("DATA")[0].startswith("354 ")
    return wire.command(MESSAGE + b".")


def test_the_greeting_names_the_configured_host_and_no_software(listener):
    wire = Wire(listener.smtp_address)
    assert wire.greeting == ["220 mx.test.example ESMTP"]
    wire.close()


def test_every_reply_after_the_greeting_and_ehlo_carries_an_enhanced_status_code(listener):
    wire = Wire(listener.smtp_address)
    early = [wire.command(c) for c in ("MAIL FROM:<a@example.org>", "NOOP", "")]
    ehlo = wire.command("EHLO client.example")
    assert ehlo[0] == "250-mx.test.example" and "250-ENHANCEDSTATUSCODES" in ehlo
    commands = [
        "NOOP",
        "RSET",
        "HELP",
        "HELP MAIL",
        "HELP NOSUCH",
        "VRFY <support@dri.example>",
        "VRFY",
        "EXPN staff",
        "BOGUS command",
        "AUTH PLAIN AGFhAGI=",
        "XFORWARD ADDR=192.0.2.1",
        "STARTTLS",
        "RCPT TO:<support@dri.example>",
        "DATA",
        "MAIL FROM:<a@example.org> SIZE=999999999",
        "MAIL FROM:<a@example.org> BODY=BINARY",
        "MAIL FROM:<a@example.org> NOSUCH=1",
        "MAIL FROM:<a@example.org>",
        "MAIL FROM:<b@example.org>",
        "RCPT TO:<support@dri.example> NOTIFY=NEVER",
        "RCPT TO:<nobody@elsewhere.example>",
        "RCPT TO:<not an address",
        "DATA extra",
        "RSET extra",
        "QUIT extra",
        "MAIL FROM:" + "x" * 3000,
    ]
    replies = early + [wire.command(c) for c in commands]
    lines = [line for reply in replies for line in reply]
    assert [line for line in lines if not ENHANCED.match(line)] == []
    assert wire.command("QUIT") == ["221 2.0.0 Bye"]


def test_an_oversized_data_gets_552_5_3_4_and_help_never_offers_auth(listener):
    wire = Wire(listener.smtp_address)
    wire.command("EHLO client.example")
    assert wire.command("HELP")[0].startswith("250 2.0.0 Supported commands: ")
    assert "AUTH" not in wire.command("HELP")[0].split()
    assert not [line for line in wire.command("EHLO again.example") if "AUTH" in line]
    assert wire.command("AUTH LOGIN") == ["503 5.5.1 Error: authentication not enabled"]
    wire.command("MAIL FROM:<a@example.org>")
    wire.command("RCPT TO:<support@dri.example>")
    wire.command("DATA")
    assert wire.command(b"Subject: big\r\n\r\n" + (b"x" * 900 + b"\r\n") * 200 + b".") == [
        "552 5.3.4 Message size exceeds fixed limit"
    ]


def test_a_non_ascii_sender_without_smtputf8_is_refused_with_553_5_6_7(listener):
    wire = Wire(listener.smtp_address)
    wire.command("EHLO client.example")
    assert wire.command("MAIL FROM:<jérôme@exemple.fr>") == [
        "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter"
    ]
    assert wire.command("MAIL FROM:<jérôme@exemple.fr> SMTPUTF8") == ["250 2.1.0 Sender ok"]
    assert wire.command("RSET") == ["250 2.0.0 Ok"]
    wire.command("MAIL FROM:<a@example.org>")
    assert wire.command("RCPT TO:<supp\u00f6rt@dri.example>")[0].startswith("553 5.6.7 ")


def test_a_message_with_bare_lf_line_ends_is_still_accepted(listener):
    wire = Wire(listener.smtp_address)
    wire.command("EHLO client.example")
    wire.command("MAIL FROM:<a@example.org>")
    wire.command("RCPT TO:<support@dri.example>")
    wire.command("DATA")
    body = b"From: a@example.org\nSubject: bare LF\n\n" + b"a line of text\n" * 3000
    assert QUEUED.match(wire.command(body + b"\r\n.")[0])


def test_starttls_is_offered_with_a_certificate_and_mail_goes_through_it(tmp_path, redis_url, sink):
    cert, key = self_signed(tmp_path / "tls", "mx.test.example")
    running = start(tmp_path, redis_url, sink, smtp_tls_cert=cert, smtp_tls_key=key)
    try:
        context = ssl.create_default_context(cafile=str(cert))
        with smtplib.SMTP(*running.smtp_address, timeout=10) as smtp:
            smtp.ehlo("client.example")
            assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
            assert smtp.starttls(context=context)[0] == 220
            smtp.ehlo("client.example")
            assert not smtp.has_extn("starttls") and not smtp.has_extn("auth")
            assert smtp.sock.version().startswith("TLS")
            refused = smtp.send_message(customer_mail())
        assert refused == {}
    finally:
        running.stop()


def test_without_a_certificate_starttls_is_not_offered(listener):
    with smtplib.SMTP(*listener.smtp_address, timeout=10) as smtp:
        smtp.ehlo("client.example")
        assert not smtp.has_extn("starttls")
        assert smtp.docmd("STARTTLS") == (454, b"4.7.0 TLS not available")


def test_a_trusted_relay_forwards_the_real_client_address_for_limits_and_the_ticket(relayed):
    wire = Wire(relayed.smtp_address)
    assert "250-XFORWARD NAME ADDR PORT PROTO HELO IDENT SOURCE" in wire.command("EHLO mx.test")
    for client in ("192.0.2.7", "192.0.2.7", "IPv6:2001:db8::5", "192.0.2.8"):
        assert wire.command(f"XFORWARD NAME=mail.client.example ADDR={client}") == ["250 2.0.0 Ok"]
        assert wire.command("XFORWARD PROTO=ESMTP HELO=mail.client.example") == ["250 2.0.0 Ok"]
        assert QUEUED.match(transaction(wire)[0])
    # The limit (2 a minute) counts the forwarded address, not the relay's.
    wire.command("XFORWARD ADDR=192.0.2.7")
    assert wire.command("MAIL FROM:<a@example.org>") == [
        "450 4.7.1 Too many messages from your address, try again later"
    ]
    assert client_ips(relayed) == ["192.0.2.7", "192.0.2.7", "2001:db8::5", "192.0.2.8"]


def test_xforward_applies_to_one_transaction_and_not_inside_one(relayed):
    wire = Wire(relayed.smtp_address)
    wire.command("EHLO mx.test")
    wire.command("XFORWARD ADDR=198.51.100.4")
    assert QUEUED.match(transaction(wire)[0])
    assert QUEUED.match(transaction(wire)[0])  # no XFORWARD this time: the relay itself
    wire.command("MAIL FROM:<a@example.org>")
    assert wire.command("XFORWARD ADDR=192.0.2.9") == [
        "503 5.5.1 Error: MAIL transaction in progress"
    ]
    assert wire.command("RSET") == ["250 2.0.0 Ok"]
    assert wire.command("XFORWARD ADDR") == ["501 5.5.4 Syntax: XFORWARD attribute=value..."]
    assert client_ips(relayed) == ["198.51.100.4", "127.0.0.1"]


def test_xforward_from_an_address_that_is_not_a_trusted_relay_is_refused(relayed):
    wire = Wire(relayed.smtp_address, source="127.0.0.2")
    assert not [line for line in wire.command("EHLO someone.example") if "XFORWARD" in line]
    assert wire.command("XFORWARD ADDR=192.0.2.7") == [
        "550 5.7.0 Error: insufficient authorization"
    ]
    assert QUEUED.match(transaction(wire)[0])
    assert client_ips(relayed) == ["127.0.0.2"]
