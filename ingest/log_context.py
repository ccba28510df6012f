"""The request a log line belongs to: its intake id and ticket number, carried by context
variables so every line of a request's life names them without passing them around."""

from __future__ import annotations

import contextlib
import logging
from contextvars import ContextVar

FIELDS = ("intake_id", "ticket")
_current: dict[str, ContextVar] = {name: ContextVar(name, default=None) for name in FIELDS}


@contextlib.contextmanager
def request(**ids):
    """Within the block, log lines carry `ids` (intake_id=…, ticket=…); restored after."""
    tokens = [(_current[k], _current[k].set(v)) for k, v in ids.items() if v is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(**ids) -> None:
    """Add an id learnt along the way (the ticket number once filed) to the current request."""
    for key, value in ids.items():
        if value is not None:
            _current[key].set(value)


def clear() -> None:
    """The request in hand is done (a worker thread moves on to the next message)."""
    for var in _current.values():
        var.set(None)


class ContextFilter(logging.Filter):
    """Puts the current request's ids on each record (an explicit `extra` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in _current.items():
            value = var.get()
            if value is not None and getattr(record, name, None) is None:
                setattr(record, name, value)
        return True
