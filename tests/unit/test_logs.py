"""Log lines: readable (coloured on a terminal) or JSON, each with its request's ids."""

from __future__ import annotations

import io
import json
import logging

import pytest

from ingest import log_context
from workers.running import logs


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def captured(monkeypatch):
    def setup(fmt: str, stream: io.StringIO):
        monkeypatch.setattr("sys.stderr", stream)
        logs.setup(fmt, role="smtp")
        return stream

    yield setup
    logging.getLogger().handlers[:] = []


def test_auto_is_text_on_a_terminal_and_json_elsewhere():
    assert logs.resolve("auto", Terminal()) == "text"
    assert logs.resolve("auto", io.StringIO()) == "json"
    assert logs.resolve("json", Terminal()) == "json"


def test_json_lines_carry_the_ids_of_the_request_in_hand(captured):
    stream = captured("json", io.StringIO())
    log = logging.getLogger("guichet.test")
    with log_context.request(intake_id="abc123"):
        log.info("intake accepted")
        log_context.bind(ticket=100001)
        log.info("intake filed")
    log.info("idle")
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["intake_id"] == "abc123" and "ticket" not in first
    assert second["intake_id"] == "abc123" and second["ticket"] == 100001
    assert "intake_id" not in third and third["role"] == "smtp"


def test_text_lines_on_a_terminal_are_coloured_and_name_the_ids(captured):
    stream = captured("auto", Terminal())
    with log_context.request(intake_id="abc123", ticket=100002):
        logging.getLogger("guichet.test").warning("relay refused")
    line = stream.getvalue()
    assert "\x1b[" in line and "relay refused" in line
    assert "intake_id=abc123" in line and "ticket=100002" in line


def test_an_explicit_extra_wins_over_the_context(captured):
    stream = captured("json", io.StringIO())
    with log_context.request(intake_id="outer"):
        logging.getLogger("guichet.test").info("earlier intake filed", extra={"intake_id": "x"})
    assert json.loads(stream.getvalue())["intake_id"] == "x"
