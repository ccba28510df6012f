"""The hand-over's last step waits for the record: the end of DATA, or the rename into new/."""

from __future__ import annotations

import os
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller

from tests.support.services import SinkHandler, free_port
from workers.acks.outbound import MaildirOutbox, SmtpRelay


class RecordFailed(Exception):
    pass


def _message(body: str = "Bonjour,\n.une ligne qui commence par un point\n..et deux\nFin\n"):
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "s@example.org", "c@example.org", "ack"
    message["Message-ID"] = "<ack-1@example.org>"
    message.set_content(body)
    return message


@pytest.fixture
def relay():
    handler = SinkHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield handler, SmtpRelay("127.0.0.1", controller.port, timeout=10)
    controller.stop()


def test_the_relay_has_nothing_when_the_last_step_runs_and_gets_the_message_intact(relay):
    handler, smtp = relay
    seen = []
    smtp.send(_message(), "c@example.org", lambda: seen.append(len(handler.messages)))
    assert seen == [0]  # the record ran before the end of DATA was sent
    [got] = handler.wait_for(1)
    assert got["mail_from"] == "<>" and got["rcpt_tos"] == ["c@example.org"]
    assert b"\r\n.une ligne qui commence par un point\r\n..et deux\r\nFin\r\n" in got["data"]


def test_a_record_that_fails_leaves_the_relay_without_the_message(relay):
    handler, smtp = relay

    def fail():
        raise RecordFailed("database away")

    with pytest.raises(RecordFailed):
        smtp.send(_message(), "c@example.org", fail)
    smtp.send(_message("next"), "c@example.org")  # the relay is fine: only that one was dropped
    assert [b"next" in m["data"] for m in handler.wait_for(2, timeout=3)] == [True]


def test_the_outbox_renames_into_new_only_after_the_record(tmp_path):
    outbox = MaildirOutbox(tmp_path / "outbox")
    new, tmp = tmp_path / "outbox" / "new", tmp_path / "outbox" / "tmp"
    seen = []
    outbox.send(
        _message(), "c@example.org", lambda: seen.append((os.listdir(new), os.listdir(tmp)))
    )
    assert [(n, len(t)) for n, t in seen] == [([], 1)]
    assert len(os.listdir(new)) == 1 and os.listdir(tmp) == []

    def fail():
        raise RecordFailed("database away")

    with pytest.raises(RecordFailed):
        outbox.send(_message(), "c@example.org", fail)
    assert len(os.listdir(new)) == 1 and os.listdir(tmp) == []
