"""`guichet run`: the whole stack on one machine — embedded Redis, workers, SMTP listener, web app."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field

from ingest.settings import Settings
from workers.running import exposition, readiness
from workers.running.banner import banner
from workers.running.embedded_redis import EmbeddedRedis
from workers.running.home_lock import HomeLock
from workers.running.orphans import ending_with_this_process
from workers.store.migrate import upgrade
from workers.store.private_files import private_dir

log = logging.getLogger("guichet.run")
READY_TIMEOUT = 120.0
REDIS_BACKOFF = (0.2, 30.0)  # first wait and longest wait before restarting a dead Redis


@dataclass
class Child:
    role: str
    args: list[str]
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    """Starts each role as a child process, restarts one that dies (the embedded Redis too,
    with back-off, on the same data), stops them in order."""

    def __init__(self, settings: Settings, *, web: bool = True, lock: HomeLock | None = None):
        self.settings, self.web, self.lock = settings, web, lock
        self.redis: EmbeddedRedis | None = None
        self.redis_failures: list[float] = []
        self.children: list[Child] = []
        self.stopping = threading.Event()

    def env(self) -> dict[str, str]:
        env = dict(
            os.environ,
            GUICHET_HOME=str(self.settings.home.resolve()),
            DATABASE_URL=self.settings.database,
        )
        env["REDIS_URL"] = self.redis.url if self.redis else self.settings.broker_url
        env.update(exposition.children_env(self.settings.home))
        return env

    def start(self) -> None:
        private_dir(self.settings.home)
        upgrade(self.settings.database)
        exposition.fresh_multiprocess_dir(self.settings.home)
        if self.settings.embedded_redis:
            self.redis = EmbeddedRedis(
                self.settings.home / "redis", socket=self.settings.redis_socket
            )
            self.redis.start(pass_fds=self._lock_fds(), preexec_fn=ending_with_this_process())
            log.info("embedded Redis ready", extra={"url": self.redis.url})
        exe = [sys.executable, "-m", "workers.cli.main"]
        roles = [
            Child(f"worker-{i}", [*exe, "worker"])
            for i in range(self.settings.worker_process_count)
        ]
        roles.append(Child("smtp", [*exe, "smtp"]))
        if self.settings.mailboxes:  # the IMAP edge, when mailboxes are configured
            roles.append(Child("fetch", [*exe, "fetch"]))
        if self.web:
            roles.append(Child("web", [*exe, "web"]))
        self.children = roles
        for child in self.children:
            self._spawn(child)

    def _lock_fds(self) -> tuple[int, ...]:
        # Children hold the home's lock too: while any of them lives, no second run starts.
        return (self.lock.fd,) if self.lock and self.lock.fd is not None else ()

    def _spawn(self, child: Child) -> None:
        # Own session: a terminal Ctrl-C reaches only us, and we stop the roles in order. And
        # each ends if we die without stopping it (workers.running.orphans).
        child.process = subprocess.Popen(
            child.args,
            env=self.env(),
            start_new_session=True,
            pass_fds=self._lock_fds(),
            preexec_fn=ending_with_this_process(),
        )
        log.info("started", extra={"role": child.role, "pid": child.process.pid})

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> list[str]:
        """Wait until SMTP greets, /readyz answers 200 and every worker beats; returns what
        is still not ready when `timeout` passes (empty: all ready)."""
        deadline = time.monotonic() + timeout
        while True:
            waiting = [p for p in self._not_ready() if p]
            if not waiting or self.stopping.is_set() or time.monotonic() > deadline:
                return waiting
            self.stopping.wait(0.2)

    def _not_ready(self) -> list[str | None]:
        workers = {c.process.pid for c in self.children if c.role.startswith("worker")}
        checks = [readiness.smtp_ready(self.settings, 2)]
        checks.append(readiness.workers_ready(self.settings, workers))
        if self.web:
            checks.append(readiness.http_ready(self.settings, timeout=2))
        return checks

    def watch(self) -> None:
        """Restart a child that died (at most 5 times a minute), and a dead embedded Redis,
        until asked to stop."""
        while not self.stopping.wait(0.2):
            if self.redis and not self.redis.alive():
                self._restart_redis()
            for child in self.children:
                if child.process and child.process.poll() is not None:
                    exposition.process_exited(self.settings.home, child.process.pid)
                    child.restarts = [t for t in child.restarts if time.monotonic() - t < 60] + [
                        time.monotonic()
                    ]
                    if len(child.restarts) > 5:
                        log.error("role keeps dying; stopping", extra={"role": child.role})
                        self.stopping.set()
                        break
                    log.warning(
                        "role exited; restarting",
                        extra={"role": child.role, "code": child.process.returncode},
                    )
                    self._spawn(child)

    def _restart_redis(self) -> None:
        """Same socket, same append-only file; waits longer after each failure in a row
        (reset once Redis has stayed up a minute). The roles reconnect by themselves, and
        the workers' sweeper re-enqueues what the restart lost as soon as it sees the new
        server (workers/recovery.py)."""
        now = time.monotonic()
        self.redis_failures = [t for t in self.redis_failures if now - t < 60] + [now]
        first, longest = REDIS_BACKOFF
        wait = min(first * 2 ** (len(self.redis_failures) - 1), longest)
        log.error(
            "embedded Redis exited; restarting it",
            extra={"code": self.redis.returncode(), "in_seconds": wait},
        )
        if self.stopping.wait(wait):
            return
        try:
            self.redis.start(pass_fds=self._lock_fds(), preexec_fn=ending_with_this_process())
            log.warning("embedded Redis restarted on the same data", extra={"url": self.redis.url})
        except RuntimeError as exc:
            log.error("embedded Redis did not restart: %s", exc)

    def stop(self) -> None:
        """Edges first (stop accepting), then workers (drain), then Redis (flush its AOF)."""
        edges = [c for c in self.children if not c.role.startswith("worker")]
        workers = [c for c in self.children if c.role.startswith("worker")]
        for group in (edges, workers):
            for child in group:
                if child.process and child.process.poll() is None:
                    child.process.send_signal(signal.SIGTERM)
            for child in group:
                if child.process:
                    try:
                        child.process.wait(60)
                    except subprocess.TimeoutExpired:
                        child.process.kill()
        if self.redis:
            self.redis.stop()
        log.info("stopped")


def run(settings: Settings, *, web: bool = True) -> int:
    """Refuses at once (AlreadyRunning) when another run holds this home: nothing is touched."""
    lock = HomeLock(settings.home).acquire(smtp=settings.smtp_listen, http=settings.http_listen)
    supervisor = Supervisor(settings, web=web, lock=lock)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor.stopping.set())
    try:
        supervisor.start()
        waiting = supervisor.wait_ready()
        if waiting:
            log.error("not ready after %ss: %s", READY_TIMEOUT, "; ".join(waiting))
        if not supervisor.stopping.is_set():
            print(banner(settings, web=web, admins=_admins(settings)), file=sys.stderr, flush=True)
        supervisor.watch()
    finally:
        supervisor.stop()
        lock.release()
    return 0


def _admins(settings: Settings) -> int | None:
    from workers.store.admins import all_admins
    from workers.store.engine import session_factory

    try:
        with session_factory(settings.database)() as session:
            return len(all_admins(session))
    except Exception:  # noqa: BLE001 - the banner must not fail for a count
        return None
