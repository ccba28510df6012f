"""`guichet health smtp|web|worker`: exit 0 when the role on this machine is ready, 1 with
what is wrong otherwise — a container's healthcheck."""

from __future__ import annotations

import sys

import click


def _report(problem: str | None, ok: str) -> None:
    if problem:
        click.echo(f"unhealthy: {problem}", err=True)
        sys.exit(1)
    click.echo(ok)


@click.group()
def health() -> None:
    """Is a role on this machine ready? For healthchecks (Docker, systemd, load balancers)."""


@health.command("smtp")
@click.option("--timeout", type=float, default=5.0, show_default=True)
def smtp(timeout: float) -> None:
    """The listener at GUICHET_SMTP_LISTEN greets and answers NOOP with 250."""
    from ingest.settings import get_settings
    from workers.running.readiness import smtp_ready

    settings = get_settings()
    _report(smtp_ready(settings, timeout), f"SMTP {settings.smtp_listen} ready")


@health.command("web")
@click.option("--timeout", type=float, default=5.0, show_default=True)
def web(timeout: float) -> None:
    """The HTTP app at GUICHET_HTTP_LISTEN answers /readyz with 200 (database and Redis up)."""
    from ingest.settings import get_settings
    from workers.running.readiness import http_ready

    settings = get_settings()
    _report(http_ready(settings, "/readyz", timeout), f"HTTP {settings.http_listen} ready")


@health.command("worker")
def worker() -> None:
    """A worker of this host wrote its heartbeat in $GUICHET_HOME/heartbeats recently (its
    worker threads are alive)."""
    from ingest.settings import get_settings
    from workers.running.readiness import workers_ready

    settings = get_settings()
    _report(workers_ready(settings), "worker heartbeat fresh")
