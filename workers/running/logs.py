"""Structured logs: one JSON object per line, carrying the request's ids passed as `extra`."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def setup(fmt: str = "json", level: str = "INFO", role: str = "guichet") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(message)s", static_fields={"role": role}
            )
        )
    else:
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s {role} %(levelname)s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("mail.log", "aiosmtpd", "dramatiq", "flanker", "ply"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
