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
from workers.running import exposition
from workers.running.embedded_redis import EmbeddedRedis
from workers.store.migrate import upgrade

log = logging.getLogger("guichet.run")


@dataclass
class Child:
    role: str
    args: list[str]
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)


class Supervisor:
    """Starts each role as a child process, restarts one that dies, stops them in order."""

    def __init__(self, settings: Settings, *, web: bool = True):
        self.settings, self.web = settings, web
        self.redis: EmbeddedRedis | None = None
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
        self.settings.home.mkdir(parents=True, exist_ok=True)
        upgrade(self.settings.database)
        exposition.fresh_multiprocess_dir(self.settings.home)
        if self.settings.embedded_redis:
            self.redis = EmbeddedRedis(
                self.settings.home / "redis", socket=self.settings.redis_socket
            ).start()
            log.info("embedded Redis ready", extra={"url": self.redis.url})
        exe = [sys.executable, "-m", "workers.cli.main"]
        roles = [
            Child(f"worker-{i}", [*exe, "worker"]) for i in range(self.settings.worker_processes)
        ]
        roles.append(Child("smtp", [*exe, "smtp"]))
        if self.settings.mailboxes:  # the IMAP edge, when mailboxes are configured
            roles.append(Child("fetch", [*exe, "fetch"]))
        if self.web:
            roles.append(Child("web", [*exe, "web"]))
        self.children = roles
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        # Own session: a terminal Ctrl-C reaches only us, and we stop the roles in order.
        child.process = subprocess.Popen(child.args, env=self.env(), start_new_session=True)
        log.info("started", extra={"role": child.role, "pid": child.process.pid})

    def watch(self) -> None:
        """Restart a child that died (at most 5 times a minute), until asked to stop."""
        while not self.stopping.wait(0.5):
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
    supervisor = Supervisor(settings, web=web)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor.stopping.set())
    try:
        supervisor.start()
        _banner(settings)
        supervisor.watch()
    finally:
        supervisor.stop()
    return 0


def _banner(settings: Settings) -> None:
    print(
        f"guichet is running: SMTP on {settings.smtp_listen}, HTTP on {settings.http_listen}, "
        f"state in {settings.home.resolve()}. Ctrl-C stops it.",
        file=sys.stderr,
        flush=True,
    )
