"""`guichet smtp` as a real process: settings from its environment, SIGTERM, memory under long lines."""

from __future__ import annotations

import re
import signal
import socket
import time

import psutil
import pytest
from sqlalchemy import func, select

from tests.support.processes import smtp_listener
from tests.support.stack import stack_settings
from tests.support.wire import Wire
from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.schema import IntakeRow

pytestmark = pytest.mark.integration
QUEUED = re.compile(r"^250 2\.0\.0 Ok: queued as [0-9a-f]{32}$")
SHUTTING_DOWN = ["421 4.3.2 Service shutting down, try again later"]
HEAD = b"From: a@example.org\r\nTo: support@dri.example\r\nSubject: drain\r\n\r\n"
MB = 1024 * 1024


@pytest.fixture
def settings(tmp_path, redis_url):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    values = stack_settings(tmp_path / "home", database, redis_url, "127.0.0.1:9", limits_exempt=[])
    upgrade(values.database)
    return values


def stored(settings) -> int:
    with session_factory(settings.database)() as session:
        return session.scalar(select(func.count()).select_from(IntakeRow))


def in_data(address) -> Wire:
    wire = Wire(address)
    wire.command("EHLO client.example")
    wire.command("MAIL FROM:<a@example.org>")
    wire.command("RCPT TO:<support@dri.example>")
    assert wire.command("DATA")[0].startswith("354 ")
    wire.sock.sendall(HEAD + b"first half of the message\r\n")
    return wire


def address_of(settings) -> tuple[str, int]:
    host, _, port = settings.smtp_listen.rpartition(":")
    return host, int(port)


def listener_closed(address, timeout: float = 20) -> bool:
    """True once a new connection is refused, or greeted with 421 4.3.2 and closed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(address, timeout=5) as sock:
                if sock.recv(200).startswith(b"421 4.3.2 "):
                    return True
        except ConnectionRefusedError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.parametrize("written", ['["127.0.0.1", "10.0.0.0/8"]', "127.0.0.1, 10.0.0.0/8"])
def test_limits_exempt_is_read_from_the_environment_as_json_or_comma_separated(
    settings, tmp_path, written
):
    env = {"GUICHET_LIMITS_EXEMPT": written, "GUICHET_MESSAGE_RATE_PER_IP": "1/minute"}
    listener = smtp_listener(settings, tmp_path / "logs", env=env)
    try:
        address = address_of(settings)
        exempt = [in_data(address) for _ in range(3)]
        assert [QUEUED.match(w.command(b"rest\r\n.")[0]) is not None for w in exempt] == [True] * 3
        limited = Wire(address, source="127.0.0.2")
        limited.command("EHLO client.example")
        assert limited.command("MAIL FROM:<a@example.org>")[0].startswith("250 ")
        limited.command("RSET")
        assert limited.command("MAIL FROM:<a@example.org>")[0].startswith("450 4.7.1 ")
    finally:
        listener.stop()


def test_on_sigterm_the_data_in_hand_is_finished_and_everything_else_gets_421_4_3_2(
    settings, tmp_path
):
    listener = smtp_listener(settings, tmp_path / "logs", env={"GUICHET_SMTP_DRAIN_TIMEOUT": "60"})
    address = address_of(settings)
    sending = [in_data(address) for _ in range(6)]
    idle = Wire(address)
    idle.command("EHLO idle.example")
    between = Wire(address)
    between.command("EHLO between.example")
    between.command("MAIL FROM:<a@example.org>")

    listener.process.send_signal(signal.SIGTERM)
    assert idle.reply() == SHUTTING_DOWN and idle.closed()
    assert between.reply() == SHUTTING_DOWN and between.closed()
    assert listener_closed(address)
    finals = [wire.command(b"second half\r\n.") for wire in sending]
    assert [QUEUED.match(reply[0]) is not None for reply in finals] == [True] * 6, finals
    assert sending[0].command("MAIL FROM:<a@example.org>") == SHUTTING_DOWN
    assert sending[1].command("QUIT") == ["221 2.0.0 Bye"]
    assert listener.process.wait(60) == 0
    assert stored(settings) == 6
    assert "Traceback" not in listener.log()


def test_a_data_that_does_not_finish_within_the_bound_is_cut_with_421_and_the_listener_exits(
    settings, tmp_path
):
    listener = smtp_listener(settings, tmp_path / "logs", env={"GUICHET_SMTP_DRAIN_TIMEOUT": "2"})
    stalled = in_data(address_of(settings))
    listener.process.send_signal(signal.SIGTERM)
    assert stalled.reply() == ["421 4.4.2 Service shutting down: timeout exceeded, try again later"]
    assert listener.process.wait(60) == 0
    assert stored(settings) == 0


def test_a_24_mb_command_line_gets_500_5_5_2_and_the_listener_memory_stays_flat(settings, tmp_path):
    listener = smtp_listener(settings, tmp_path / "logs")
    try:
        process = psutil.Process(listener.process.pid)
        wire = Wire(address_of(settings))
        wire.command("EHLO client.example")
        growth = []
        for size in (3 * MB, 24 * MB):  # n and 8n
            before = process.memory_info().rss
            reply = wire.command(b"MAIL FROM:<" + b"a" * size + b"@example.org>")
            growth.append(process.memory_info().rss - before)
            assert reply == ["500 5.5.2 Error: command line too long"]
        assert wire.command("NOOP") == ["250 2.0.0 Ok"]  # the session goes on
        # Buffered whole, 24 MB would add at least 24 MB; read in 2 kB pieces, next to nothing.
        assert growth[1] < 4 * MB, growth
    finally:
        listener.stop()
