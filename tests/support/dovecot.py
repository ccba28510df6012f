"""A throw-away Dovecot IMAP server: its own config, users, TLS key and maildirs in a temp folder.

Dovecot refuses to run its login processes as root and to give root mail access. Run by a
normal user, every service runs as that user; run by root (CI), the login processes run as
`dovenull` and the rest as `dovecot` (users the Debian package creates), so the folder must be
readable by them. XOAUTH2 logins are checked by Dovecot's oauth2 passdb against a tiny token
introspection endpoint served here.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
from pathlib import Path

from imapclient import IMAPClient

from tests.support.certs import self_signed
from tests.support.services import free_port
from tests.support.token_endpoint import Introspection

USER, PASSWORD, TOKEN = "support", "imap-secret", "bearer-token-for-support"


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot",) if os.access(p, os.X_OK)), None
    )


class Dovecot:
    """One Dovecot on free loopback ports: IMAP (STARTTLS offered) and IMAPS."""

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="guichet-dovecot-"))
        os.chmod(self.root, 0o755)  # Dovecot's unprivileged services read their config here
        self.port, self.tls_port = free_port(), free_port()
        self.process: subprocess.Popen | None = None
        self.introspection = Introspection(TOKEN, USER)
        self.cert = self.root / "cert.pem"

    # -- life ----------------------------------------------------------------------------

    def start(self, timeout: float = 20) -> Dovecot:
        if self.process is None:
            self._write_files()
        self.process = subprocess.Popen(
            [dovecot_binary() or "dovecot", "-F", "-c", str(self.root / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "stderr.log", "ab"),  # noqa: SIM115 - owned by the child
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited:\n{self.log()}")
            with contextlib.suppress(OSError):
                self.client().logout()
                return self
            time.sleep(0.1)
        raise RuntimeError(f"dovecot did not answer in {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def close(self) -> None:
        self.stop()
        self.introspection.close()
        shutil.rmtree(self.root, ignore_errors=True)

    def kill_sessions(self) -> int:
        """SIGKILL every `imap` process serving a client: their connections drop mid-command."""
        killed = 0
        for pid in self._children("imap"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
        return killed

    def sessions(self) -> int:
        return len(self._children("imap"))

    def log(self) -> str:
        parts = [self.root / "dovecot.log", self.root / "stderr.log"]
        return "\n".join(p.read_text(errors="replace") for p in parts if p.exists())[-5000:]

    # -- a client of our own, to put mail in and look ---------------------------------

    def client(self, password: str = PASSWORD) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=10)
        client.login(USER, password)
        return client

    def append(self, raw: bytes, folder: str = "INBOX", flags=()) -> None:
        with self.client() as client:
            client.append(folder, raw, flags)

    def count(self, folder: str = "INBOX") -> int:
        with self.client() as client:
            if not client.folder_exists(folder):
                return 0
            return int(client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])

    def flags(self, folder: str = "INBOX") -> list[tuple]:
        with self.client() as client:
            client.select_folder(folder, readonly=True)
            uids = client.search()
            found = client.fetch(uids, ["FLAGS"]) if uids else {}
            return [tuple(v[b"FLAGS"]) for _, v in sorted(found.items())]

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def mailbox(self, **overrides) -> dict:
        """A `[[mailboxes]]` entry for this server (plain IMAP on loopback unless overridden)."""
        values = dict(
            name="support",
            host="127.0.0.1",
            port=self.port,
            tls="none",
            username=USER,
            password=PASSWORD,
            poll_interval=0.5,
            timeout=10,
        )
        values.update(overrides)
        return values

    # -- files -------------------------------------------------------------------------

    def _children(self, name: str) -> list[int]:
        pids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)
                comm, ppid = fields[0].split("(", 1)[1], int(fields[1].split()[1])
                if self.process and ppid == self.process.pid and comm == name:
                    pids.append(int(stat.parent.name))
        return pids

    def _write_files(self) -> None:
        _cert, key = self_signed(self.root, "127.0.0.1")
        os.chmod(key, 0o644)  # read by Dovecot's config process, which may not run as us
        (self.root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}::::::\n")
        (self.root / "oauth2.conf").write_text(
            f"introspection_mode = auth\n"
            f"introspection_url = {self.introspection.url}\n"
            f"username_attribute = username\n"
        )
        internal, login, group = _service_users()
        home = self.root / "home"
        home.mkdir()
        if os.geteuid() == 0:
            shutil.chown(home, internal, group)
        for name in ("run", "state"):
            (self.root / name).mkdir()
        (self.root / "dovecot.conf").write_text(
            CONFIG.format(
                root=self.root,
                port=self.port,
                tls_port=self.tls_port,
                internal=internal,
                group=group,
                login=login,
            )
        )


def _service_users() -> tuple[str, str, str]:
    """(internal and mail user, login user, group): ourselves, or Debian's users under root."""
    if os.geteuid() == 0:
        return "dovecot", "dovenull", "dovecot"
    return (
        pwd.getpwuid(os.getuid()).pw_name,
        pwd.getpwuid(os.getuid()).pw_name,
        grp.getgrgid(os.getgid()).gr_name,
    )


CONFIG = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
default_internal_user = {internal}
default_internal_group = {group}
default_login_user = {login}
first_valid_uid = 1
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2 oauthbearer
passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {root}/oauth2.conf
}}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={internal} gid={group} home={root}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {tls_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
