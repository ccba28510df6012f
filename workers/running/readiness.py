"""Is a role ready? An SMTP greeting and NOOP, an HTTP probe, a worker's heartbeat. Used by
`guichet run` before its banner and by `guichet health` (containers' healthchecks)."""

from __future__ import annotations

import smtplib
import urllib.error
import urllib.request

from ingest.settings import Settings, host_port
from workers.running.heartbeat import fresh_beats


def local(listen: str) -> tuple[str, int]:
    """Where to reach a listener bound to `listen` from this machine."""
    host, port = host_port(listen)
    return ("127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host), port


def smtp_ready(settings: Settings, timeout: float = 5) -> str | None:
    """None when the listener greets and answers NOOP with 250, else what went wrong."""
    host, port = local(settings.smtp_listen)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as client:
            code, text = client.noop()
    except (OSError, smtplib.SMTPException) as exc:
        return f"SMTP {host}:{port}: {exc or type(exc).__name__}"
    return None if code == 250 else f"SMTP {host}:{port}: NOOP answered {code} {text!r}"


def http_ready(settings: Settings, path: str = "/readyz", timeout: float = 5) -> str | None:
    """None when `path` of the HTTP app answers 200, else what went wrong."""
    host, port = local(settings.http_listen)
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        return f"{url}: {exc.code} {exc.read(300).decode(errors='replace')}"
    except OSError as exc:
        return f"{url}: {exc}"
    return None if status == 200 else f"{url}: {status}"


def workers_ready(settings: Settings, pids: set[int] | None = None) -> str | None:
    """None when every worker in `pids` (else at least one of this host) has a fresh beat."""
    beating = set(fresh_beats(settings.home))
    if pids is not None:
        missing = pids - beating
        return f"no heartbeat yet from worker pid {sorted(missing)}" if missing else None
    return None if beating else f"no fresh worker heartbeat in {settings.home}/heartbeats"
