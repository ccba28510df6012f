"""One `guichet run` per home: an exclusive lock on `$GUICHET_HOME/guichet.lock`, taken before
anything is started, holding who runs there (pid, ports) for the one refused."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from datetime import UTC, datetime
from pathlib import Path

from workers.pids import alive
from workers.store.private_files import private_dir

LOCK_FILE = "guichet.lock"


class AlreadyRunning(Exception):
    """Another `guichet run` holds the home; `holder` is what it wrote (pid, ports)."""

    def __init__(self, home: Path, holder: dict):
        self.home, self.holder = home, holder
        pid = holder.get("pid", "?")
        stop = f"Stop it first (kill -TERM {pid})"
        if isinstance(pid, int) and not alive(pid):
            stop = (
                f"Its supervisor (pid {pid}) is gone but its roles still hold the home: stop "
                f"them first (the guichet and redis-server processes using {home})"
            )
        super().__init__(
            f"guichet is already running in {home} (pid {pid}, SMTP on {holder.get('smtp', '?')}, "
            f"HTTP on {holder.get('http', '?')}, since {holder.get('since', '?')}); nothing was "
            f"started or changed. {stop}, or set another GUICHET_HOME."
        )


class HomeLock:
    """Held from `acquire` until the process (and every child given `fd`) has exited."""

    def __init__(self, home: Path):
        self.path = Path(home).resolve() / LOCK_FILE
        self.fd: int | None = None

    def acquire(self, **details) -> HomeLock:
        private_dir(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read(fd)
            os.close(fd)
            raise AlreadyRunning(self.path.parent, holder) from None
        holder = {"pid": os.getpid(), "since": datetime.now(UTC).isoformat(timespec="seconds")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder | details).encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self.fd, 0)
            os.close(self.fd)
            self.fd = None


def _read(fd: int) -> dict:
    try:
        return json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
