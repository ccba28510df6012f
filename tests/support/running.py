"""`guichet run` as a person starts it: a real process tree on free ports, read through its
stderr (the banner) and stopped with SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tests.support.processes import LoggedProcess
from tests.support.services import free_port

ROOT = Path(__file__).resolve().parents[2]
BANNER = "guichet is ready"


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The caller's environment without guichet settings or a path into the checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("GUICHET_") and k not in ("PYTHONPATH", "DATABASE_URL", "REDIS_URL")
    }
    env.update(
        GUICHET_HOME=str(home),
        GUICHET_SMTP_LISTEN=f"127.0.0.1:{free_port()}",
        GUICHET_HTTP_LISTEN=f"127.0.0.1:{free_port()}",
        GUICHET_SMTP_HOSTNAME="guichet.test",
        GUICHET_SWEEP_INTERVAL="1",
        GUICHET_SWEEP_GRACE="2",
    )
    env.update(extra)
    return env


def pid_of(*words: str) -> int:
    """The process whose command line holds every word (read from /proc, no pgrep needed)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if all(word in command for word in words):
                return int(entry.name)
    raise LookupError(f"no process with {words}")


def embedded_redis_pid(home: Path, missing_ok: bool = False) -> int | None:
    try:
        return pid_of("redis-server", str(Path(home).resolve()))
    except LookupError:
        if missing_ok:
            return None
        raise


class GuichetRun(LoggedProcess):
    """One `guichet run`; its stderr is written to `log` and read back."""

    stop_timeout = 90

    def __init__(self, command: list[str], env: dict[str, str], cwd: Path, log: Path):
        self.command, self.env, self.cwd, self.log_path = command, env, cwd, log
        self.process: subprocess.Popen | None = None

    @classmethod
    def from_checkout(cls, home: Path, log: Path, **extra: str) -> GuichetRun:
        env = clean_env(home, PYTHONPATH=str(ROOT), **extra)
        return cls([sys.executable, "-m", "workers.cli.main", "run"], env, ROOT, log)

    @property
    def smtp(self) -> tuple[str, int]:
        host, _, port = self.env["GUICHET_SMTP_LISTEN"].rpartition(":")
        return host, int(port)

    @property
    def http(self) -> str:
        return f"http://{self.env['GUICHET_HTTP_LISTEN']}"

    def start(self, *, wait: bool = True, timeout: float = 90) -> GuichetRun:
        self._spawn(self.command, self.env, self.cwd)
        if wait:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while BANNER not in self.log():
            if self.process.poll() is not None:
                raise RuntimeError(f"guichet run exited:\n{self.log()[-4000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"no banner after {timeout}s:\n{self.log()[-4000:]}")
            time.sleep(0.2)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        """Another `guichet` command against the same home, from the same installation."""
        exe = self.command[:-1]  # everything but "run"
        return subprocess.run(
            [*exe, *args], env=self.env, cwd=self.cwd, capture_output=True, text=True, timeout=120
        )
