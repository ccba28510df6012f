"""Functions for parser-process tests: importable by name, as a forkserver child needs them."""

from __future__ import annotations

import os
import time

STARTED: list[str] = []


def ready(marker: str) -> None:
    """Initializer: leaves a file behind, so a test can see the process initialised."""
    with open(marker, "a") as fh:
        fh.write(f"{os.getpid()}\n")


def job(kind: str, value=None):
    """What a test asks of a parser process."""
    if kind == "echo":
        return value
    if kind == "pid":
        return os.getpid()
    if kind == "die":
        os._exit(3)  # as a segfault or the OOM killer: no answer, no clean-up
    if kind == "hang":
        time.sleep(value)  # in C, where no CPU-time limit reaches it
        return "woke"
    if kind == "raise":
        raise ValueError(value)
    raise AssertionError(kind)


def broken(marker: str) -> None:
    """Initializer that fails, as one whose configuration cannot be read would."""
    ready(marker)
    raise RuntimeError("cannot start")
