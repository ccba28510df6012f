"""A worker's heartbeat: a small file under `$GUICHET_HOME/heartbeats`, rewritten every few
seconds while its worker threads are alive. `guichet health worker` (a container's healthcheck)
and `guichet run` (before its banner) read it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

INTERVAL = 5.0
STALE_AFTER = 3 * INTERVAL


def folder(home: Path) -> Path:
    return Path(home).resolve() / "heartbeats"


def beat_path(home: Path, pid: int | None = None, host: str | None = None) -> Path:
    return folder(home) / f"worker-{host or socket.gethostname()}-{pid or os.getpid()}.json"


class Heartbeat(threading.Thread):
    """Writes the beat file now and every `INTERVAL` while `alive()`; removes it on stop."""

    def __init__(self, home: Path, alive: Callable[[], bool] = lambda: True):
        super().__init__(name="guichet-heartbeat", daemon=True)
        self.path, self.alive, self.stopping = beat_path(home), alive, threading.Event()

    def start(self) -> Heartbeat:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._beat()
        super().start()
        return self

    def run(self) -> None:
        while not self.stopping.wait(INTERVAL):
            self._beat()

    def _beat(self) -> None:
        if self.alive():
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(json.dumps({"pid": os.getpid(), "at": time.time()}))
            temporary.replace(self.path)

    def stop(self) -> None:
        self.stopping.set()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def fresh_beats(home: Path, *, host: str | None = None, now: float | None = None) -> list[int]:
    """Pids of the workers of `host` (default: this one) whose beat is recent."""
    now = time.time() if now is None else now
    prefix = f"worker-{host or socket.gethostname()}-"
    pids = []
    for path in folder(home).glob(f"{prefix}*.json"):
        with contextlib.suppress(OSError, ValueError):
            beat = json.loads(path.read_text())
            if now - beat["at"] < STALE_AFTER:
                pids.append(int(beat["pid"]))
    return pids
