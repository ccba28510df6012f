"""Logs: one JSON object per line (files, journald, containers), or short coloured lines on a
terminal; each line carries the ids of the request it belongs to (`ingest.log_context`)."""

from __future__ import annotations

import logging
import sys
import time

import click
from pythonjsonlogger.json import JsonFormatter

from ingest.log_context import ContextFilter

FORMATS = ("auto", "text", "json")
COLOURS = {"DEBUG": "bright_black", "INFO": "green", "WARNING": "yellow", "ERROR": "red"}
STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


class HumanFormatter(logging.Formatter):
    """`12:04:31 smtp INFO guichet.edge intake accepted  intake_id=… queue=…`, coloured when
    the stream is a terminal."""

    def __init__(self, role: str, colour: bool):
        super().__init__()
        self.role, self.colour = role, colour

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname
        if self.colour:
            level = click.style(f"{level:<7}", fg=COLOURS.get(level, "red"), bold=level != "INFO")
        extras = " ".join(
            f"{k}={v}" for k, v in record.__dict__.items() if k not in STANDARD and k != "role"
        )
        if extras and self.colour:
            extras = click.style(extras, dim=True)
        stamp = time.strftime("%H:%M:%S", time.localtime(record.created))
        line = f"{stamp} {self.role} {level} {record.name}: {record.getMessage()}"
        line += f"  {extras}" if extras else ""
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def _plain_message_only(record: logging.LogRecord) -> bool:
    """uvicorn adds a copy of its message with terminal colour codes: not for log files."""
    record.__dict__.pop("color_message", None)
    return True


def resolve(fmt: str, stream=None) -> str:
    """ "auto": text on a terminal, JSON otherwise."""
    if fmt != "auto":
        return fmt
    stream = stream or sys.stderr
    return "text" if hasattr(stream, "isatty") and stream.isatty() else "json"


def setup(fmt: str = "auto", level: str = "INFO", role: str = "guichet") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if resolve(fmt) == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", static_fields={"role": role}
            )
        )
    else:
        handler.setFormatter(HumanFormatter(role, colour=resolve("auto") == "text"))
    handler.addFilter(ContextFilter())
    handler.addFilter(_plain_message_only)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("mail.log", "aiosmtpd", "dramatiq", "flanker", "ply"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
