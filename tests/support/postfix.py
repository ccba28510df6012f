"""A throw-away Postfix instance for the tests: its own config, queue and data folders, loopback only.

Debian's `postfix` package provides the programs; nothing of the system's /etc/postfix is
used. Started with `postfix -c DIR start` as root (Postfix's daemons then drop to `mail_owner`),
logging to a file of its own, delivering only where the test's transport maps say and
answering everything else with its error transport."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.services import unavailable

POSTFIX = "/usr/sbin/postfix"
BASE = """\
compatibility_level = 3.6
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
local_transport = error:5.1.1 no local delivery in this test
default_transport = error:5.7.1 nothing leaves this test
relay_transport = error:5.7.1 nothing leaves this test
smtp_dns_support_level = disabled
smtp_host_lookup = native
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
biff = no
"""
SERVICES = """\
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
showq     unix  n - n -  - showq
postlog   unix-dgram n - n - 1 postlogd
"""


def inline(mapping: dict[str, str]) -> str:
    """A Postfix `inline:` table: inline:{ {key = value}, ... }."""
    return "inline:{ " + ", ".join(f"{{{k} = {v}}}" for k, v in mapping.items()) + " }"


def require_postfix() -> None:
    if not Path(POSTFIX).exists():
        unavailable("postfix", "install Debian's postfix package (see .ci/run)")
    try:
        pwd.getpwnam("postfix")
    except KeyError:
        unavailable("postfix", "the postfix user is missing (reinstall the package)")
    if os.geteuid() != 0:
        unavailable("postfix", "starting a Postfix instance needs root")


class Postfix:
    """One instance; `main` adds main.cf lines, `services` master.cf lines (listeners, transports)."""

    def __init__(self, name: str, port: int, main: dict[str, str], services: str = ""):
        require_postfix()
        # Not under pytest's 0700 tmp folders: the postfix user must be able to reach its files.
        self.root = Path(tempfile.mkdtemp(prefix=f"guichet-postfix-{name}-"))
        self.root.chmod(0o755)
        self.conf, self.port, self.name = self.root / "conf", port, name
        self.log_path = self.root / "maillog"
        for folder in ("conf", "queue", "data"):
            (self.root / folder).mkdir()
        shutil.chown(self.root / "data", "postfix")
        paths = {
            "config_directory": self.conf,
            "queue_directory": self.root / "queue",
            "data_directory": self.root / "data",
            "maillog_file": self.log_path,
            "maillog_file_prefixes": self.root,
            "myhostname": f"{name}.test.invalid",
        }
        lines = [BASE] + [f"{k} = {v}" for k, v in (paths | main).items()]
        (self.conf / "main.cf").write_text("\n".join(lines) + "\n")
        listener = f"127.0.0.1:{port} inet n - n - - smtpd\n"
        (self.conf / "master.cf").write_text(listener + SERVICES + services)

    def command(self, *args: str, program: str = POSTFIX) -> subprocess.CompletedProcess:
        return subprocess.run(
            [program, "-c", str(self.conf), *args], capture_output=True, text=True, timeout=60
        )

    def start(self) -> Postfix:
        done = self.command("start")
        if done.returncode != 0:
            raise RuntimeError(f"postfix {self.name} did not start:\n{self.log()[-3000:]}")
        self._wait_listening()
        return self

    def _wait_listening(self, timeout: float = 20) -> None:
        import socket

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), 2),
            ):
                return
            time.sleep(0.1)
        raise RuntimeError(f"postfix {self.name} does not listen:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        self.command("stop")

    def flush(self) -> None:
        """Try every deferred message now (`postqueue -f`), as an operator would."""
        self.command("-f", program="/usr/sbin/postqueue")

    def queued(self) -> list[dict]:
        done = self.command("-j", program="/usr/sbin/postqueue")
        return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_log(self, needle: str, count: int = 1, timeout: float = 60) -> int:
        """How many log lines contain `needle`, once there are `count` (or the time is up)."""
        deadline = time.monotonic() + timeout
        while True:
            found = sum(needle in line for line in self.log().splitlines())
            if found >= count or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
