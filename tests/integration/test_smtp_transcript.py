"""The SMTP listener's replies, line by line: refusals are precise and never permanent by accident."""

from __future__ import annotations

import smtplib
import socket

import pytest

from tests.support.mail import customer_mail, send
from tests.support.stack import Stack, stack_settings

pytestmark = pytest.mark.integration


@pytest.fixture
def limited(tmp_path, redis_url, sink):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = stack_settings(
        tmp_path / "home",
        database,
        redis_url,
        sink.address,
        limits_exempt=[],
        max_connections_per_ip=2,
        message_rate_per_ip="3/minute",
        max_recipients=3,
    )
    running = Stack(settings).start(workers=False)
    yield running
    running.stop()


def test_each_recipient_past_the_cap_gets_452_4_5_3(limited):
    with smtplib.SMTP(*limited.smtp_address, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("client@example.org")
        replies = [smtp.rcpt(f"support+{n}@dri.example") for n in range(4)]
    assert [code for code, _ in replies] == [250, 250, 250, 452]
    assert replies[3][1] == b"4.5.3 Too many recipients"


def test_a_fourth_message_in_the_window_gets_450_4_7_1(limited):
    codes = [send(limited.smtp_address, customer_mail())[0] for _ in range(3)]
    assert codes == [250, 250, 250]
    assert send(limited.smtp_address, customer_mail()) == (
        450,
        "4.7.1 Too many messages from your address, try again later",
    )


def test_a_third_concurrent_connection_from_one_address_gets_421_4_7_0(limited):
    first, second = (
        smtplib.SMTP(*limited.smtp_address, timeout=10),
        smtplib.SMTP(*limited.smtp_address, timeout=10),
    )
    try:
        with socket.create_connection(limited.smtp_address, timeout=10) as third:
            assert third.recv(200).startswith(b"421 4.7.0 Too many connections from your address")
    finally:
        first.quit()
        second.quit()


def test_a_recipient_that_is_not_ours_gets_550_5_1_1_and_the_session_goes_on(limited):
    with smtplib.SMTP(*limited.smtp_address, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("client@example.org")
        assert smtp.rcpt("postmaster@elsewhere.example") == (
            550,
            b"5.1.1 <postmaster@elsewhere.example>: no such support address here",
        )
        assert smtp.rcpt("urgent@dri.example") == (250, b"2.1.5 Recipient ok")


def test_smuggled_end_of_data_stays_inside_the_body(limited):
    raw = (
        b"From: a@example.org\r\nTo: support@dri.example\r\nSubject: smuggle\r\n\r\nline one\n.\n"
        b"MAIL FROM:<evil@example.org>\r\nline two\r.\r\nend\r\n"
    )
    with smtplib.SMTP(*limited.smtp_address, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("a@example.org")
        smtp.rcpt("support@dri.example")
        code, _ = smtp.data(raw)
    assert code == 250
    from sqlalchemy import select

    from workers.store.engine import session_factory
    from workers.store.schema import IntakeRow

    with session_factory(limited.settings.database)() as session:
        stored = session.scalars(select(IntakeRow.raw)).all()
    assert len(stored) == 1 and b"MAIL FROM:<evil@example.org>" in stored[0]
