"""Run guichet roles as real child processes (so a test can SIGKILL one) and a restartable Redis."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from pathlib import Path

from ingest.settings import Settings
from workers.running.embedded_redis import EmbeddedRedis

ROOT = Path(__file__).resolve().parents[2]


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a `guichet` child read the same settings as `settings`."""
    env = dict(os.environ)
    env.update(
        GUICHET_HOME=str(Path(settings.home).resolve()),
        DATABASE_URL=settings.database,
        REDIS_URL=settings.broker_url,
        GUICHET_SMTP_LISTEN=settings.smtp_listen,
        GUICHET_HTTP_LISTEN=settings.http_listen,
        GUICHET_SUPPORT_ADDRESSES=",".join(settings.support_addresses),
        GUICHET_URGENT_ADDRESSES=",".join(settings.urgent_addresses),
        GUICHET_ACK_FROM=settings.ack_from,
        GUICHET_MAX_MESSAGE_SIZE=str(settings.max_message_size),
        GUICHET_PARSE_PROCESSES=str(settings.parse_processes),
        GUICHET_PARSE_TIMEOUT=str(settings.parse_timeout),
        GUICHET_TICKET_TAG=settings.ticket_tag,
        GUICHET_ACK_RATE_LIMIT=str(settings.ack_rate_limit),
        GUICHET_ACK_RATE_PERIOD=str(settings.ack_rate_period),
        GUICHET_ACK_RATE_DOMAIN_LIMIT=str(settings.ack_rate_domain_limit),
        GUICHET_ACK_RATE_GLOBAL_LIMIT=str(settings.ack_rate_global_limit),
        GUICHET_WORKER_THREADS=str(settings.worker_threads),
        GUICHET_SWEEP_INTERVAL=str(settings.sweep_interval),
        GUICHET_SWEEP_GRACE=str(settings.sweep_grace),
        GUICHET_ACK_RETRY_FIRST=str(settings.ack_retry_first),
        GUICHET_ACK_RETRY_LONGEST=str(settings.ack_retry_longest),
        GUICHET_ACK_RETRY_FOR=str(settings.ack_retry_for),
        GUICHET_LIMITS_EXEMPT=json.dumps(settings.limits_exempt),
        GUICHET_SMTP_TRUSTED_RELAYS=json.dumps(settings.smtp_trusted_relays),
        GUICHET_SMTP_HOSTNAME=settings.smtp_hostname,
        GUICHET_SMTP_DRAIN_TIMEOUT=str(settings.smtp_drain_timeout),
        GUICHET_MESSAGE_RATE_PER_IP=settings.message_rate_per_ip,
        GUICHET_SMTP_RELAY_TLS=settings.smtp_relay_tls,
        GUICHET_LOG_FORMAT="text",
        PYTHONPATH=str(ROOT),
    )
    if settings.smtp_relay:
        env["GUICHET_SMTP_RELAY"] = settings.smtp_relay
    env.update(extra)
    return env


class LoggedProcess:
    """A child in its own session (a SIGKILL of the group reaches its children), its output
    appended to a log file read back for assertions and post-mortems."""

    log_path: Path
    process: subprocess.Popen | None = None
    stop_timeout: float = 30

    def _spawn(self, command: list[str], env: dict[str, str], cwd: Path) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def kill(self) -> None:
        """SIGKILL, like a crash or the OOM killer: no draining, no clean-up."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def stop(self, timeout: float | None = None) -> int | None:
        """SIGTERM (graceful), then SIGKILL when it does not exit in time."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout or self.stop_timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


class Role(LoggedProcess):
    """One `guichet <role>` child process."""

    def __init__(
        self,
        role: str,
        settings: Settings,
        log_dir: Path,
        name: str | None = None,
        env: dict[str, str] | None = None,
    ):
        self.role, self.settings, self.extra_env = role, settings, env or {}
        self.log_path = Path(log_dir) / f"{name or role}.log"
        self.process = None

    def start(self) -> Role:
        command = [sys.executable, "-m", "workers.cli.main", self.role]
        self._spawn(command, settings_env(self.settings, **self.extra_env), ROOT)
        return self


def worker(settings: Settings, log_dir: Path, name: str = "worker") -> Role:
    return Role("worker", settings, log_dir, name).start()


def smtp_listener(
    settings: Settings, log_dir: Path, timeout: float = 30, env: dict[str, str] | None = None
) -> Role:
    role = Role("smtp", settings, log_dir, env=env).start()
    try:
        return wait_smtp(role, settings, timeout)
    except RuntimeError:
        role.stop()
        raise


def wait_smtp(role: Role, settings: Settings, timeout: float = 30) -> Role:
    """Wait until the role (`guichet smtp`, or `guichet run` with its SMTP role) answers SMTP."""
    host, _, port = settings.smtp_listen.rpartition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not role.alive():
            raise RuntimeError(f"guichet {role.role} exited:\n{role.log()[-3000:]}")
        try:
            with smtplib.SMTP(host, int(port), timeout=2) as smtp:
                smtp.noop()
                return role
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"guichet {role.role} did not listen in {timeout}s:\n{role.log()[-3000:]}")


class RestartableRedis:
    """A test-owned redis-server on a fixed port with its append-only file (fsync always)."""

    def __init__(self, directory: Path, port: int):
        self.server = EmbeddedRedis(
            directory, port=port, socket=None, appendonly=True, fsync="always"
        )
        self.restarts = 0

    @property
    def url(self) -> str:
        return self.server.url

    def start(self) -> RestartableRedis:
        self.server.start()
        return self

    def crash_and_restart(self, down_for: float = 0.5) -> None:
        """SIGKILL then start again on the same port and directory: the AOF is what survives."""
        self.server.kill()
        time.sleep(down_for)
        self.server.start()
        self.restarts += 1

    def stop(self) -> None:
        self.server.stop()
