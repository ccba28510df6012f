"""One mail from SMTP to ticket to acknowledgement, on SQLite and on PostgreSQL, with real Redis."""

from __future__ import annotations

import email
import email.policy
import smtplib

import pytest

from tests.support.mail import customer_mail, send

pytestmark = pytest.mark.integration


def _ack(sink, count=1):
    messages = sink.handler.wait_for(count)
    assert len(messages) >= count, "no acknowledgement reached the relay"
    return messages[count - 1], email.message_from_bytes(
        messages[count - 1]["data"], policy=email.policy.default
    )


def test_a_verified_request_becomes_a_ticket_and_an_acknowledgement(stack, sink):
    mail = customer_mail()
    code, text = send(stack.smtp_address, mail)
    assert code == 250 and text.startswith("2.0.0 Ok: queued as ")

    [ticket] = stack.wait_tickets(1)
    assert ticket["identity_status"] == "verified"
    assert ticket["client_number"] == "20481"
    assert ticket["contact_name"] == "Jean-François Hervé"
    assert ticket["urgency"] == "routine"
    detail = stack.ticket(ticket["number"])
    assert detail["messages"][0]["message_id"] == mail["Message-ID"].strip("<>")
    assert "zone DNS" in detail["messages"][0]["text"]

    envelope, ack = _ack(sink)
    assert envelope["mail_from"] in ("", "<>")  # empty envelope sender: a bounce can never loop
    assert envelope["rcpt_tos"] == ["jf.herve@armor-logistique.fr"]
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] == mail["Message-ID"]
    assert f"#{ticket['number']}" in ack["Subject"]
    assert str(ticket["number"]) in ack.get_body(("plain",)).get_content()


def test_a_reply_to_the_acknowledgement_joins_the_same_ticket(stack, sink):
    first = customer_mail()
    assert send(stack.smtp_address, first)[0] == 250
    _, ack = _ack(sink)
    reply = customer_mail(
        subject="Re: " + ack["Subject"],
        body="Merci, voici le détail.\n",
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )
    assert send(stack.smtp_address, reply)[0] == 250
    stack.wait_tickets(1)
    import time

    time.sleep(2)
    [ticket] = stack.tickets()
    assert len(stack.ticket(ticket["number"])["messages"]) == 2


def test_the_same_message_delivered_twice_makes_one_ticket_and_one_acknowledgement(stack, sink):
    mail = customer_mail()
    assert send(stack.smtp_address, mail)[0] == 250
    assert send(stack.smtp_address, mail)[0] == 250
    _ack(sink)
    import time

    time.sleep(2)
    assert len(stack.tickets()) == 1
    assert len(sink.handler.messages) == 1


def test_an_auto_reply_is_ticketed_but_never_acknowledged(stack, sink):
    mail = customer_mail(
        subject="Réponse automatique : absent du bureau",
        body="Je suis absent jusqu'au 3 décembre.\n",
        headers={"Auto-Submitted": "auto-replied"},
    )
    assert send(stack.smtp_address, mail)[0] == 250
    [ticket] = stack.wait_tickets(1)
    detail = stack.ticket(ticket["number"])
    assert detail["acknowledgements"][0]["status"] == "skipped"
    assert sink.handler.messages == []


def test_an_unknown_recipient_is_refused_with_550_5_1_1(stack):
    code, text = send(stack.smtp_address, customer_mail(to="sales@dri.example"))
    assert (code, text) == (550, "5.1.1 <sales@dri.example>: no such support address here")


def test_a_tagged_support_address_is_accepted(stack):
    code, _ = send(stack.smtp_address, customer_mail(to="support+20481@dri.example"))
    assert code == 250


def test_an_oversized_message_is_refused_with_552(tmp_path, database_url, redis_url, sink):
    from tests.support.stack import Stack, stack_settings

    settings = stack_settings(
        tmp_path / "home", database_url, redis_url, sink.address, max_message_size=2000
    )
    running = Stack(settings).start(workers=False)
    try:
        code, text = send(running.smtp_address, customer_mail(body="ligne de journal\n" * 400))
        assert (code, text) == (552, "5.3.4 Message size exceeds fixed limit")
        with smtplib.SMTP(*running.smtp_address, timeout=10) as smtp:
            smtp.ehlo()
            assert smtp.mail("client@example.org", ["SIZE=999999"])[0] == 552  # refused before DATA
    finally:
        running.stop()


def test_queue_down_answers_451_and_keeps_the_message(tmp_path, sink):
    from tests.support.services import free_port
    from tests.support.stack import Stack, stack_settings

    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = stack_settings(
        tmp_path / "home", database, f"redis://127.0.0.1:{free_port()}/0", sink.address
    )
    running = Stack(settings).start(workers=False)
    try:
        code, text = send(running.smtp_address, customer_mail())
        assert (code, text) == (
            451,
            "4.3.0 Temporary failure: the message could not be queued, try again later",
        )
    finally:
        running.stop()
    from sqlalchemy import func, select

    from workers.store.engine import session_factory
    from workers.store.schema import IntakeRow

    with session_factory(database)() as session:
        assert (
            session.scalar(select(func.count(IntakeRow.id))) == 1
        )  # stored: the sweeper will queue it


def test_database_down_answers_451_never_5xx(tmp_path, redis_url, sink):
    from tests.support.stack import Stack, stack_settings

    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = stack_settings(tmp_path / "home", database, redis_url, sink.address)
    running = Stack(settings).start(workers=False)
    try:
        (tmp_path / "db.sqlite3").chmod(0o400)
        import sqlite3

        sqlite3.connect(tmp_path / "db.sqlite3").close()
        # Replace the store with one that cannot be written to.
        from workers.store.engine import engine_for

        engine_for(database).dispose()
        (tmp_path / "db.sqlite3").unlink()
        (
            tmp_path / "db.sqlite3"
        ).mkdir()  # a directory where the database file was: no write can succeed
        code, text = send(running.smtp_address, customer_mail())
        assert (code, text) == (
            451,
            "4.3.0 Temporary failure: the message could not be stored, try again later",
        )
    finally:
        running.stop()
