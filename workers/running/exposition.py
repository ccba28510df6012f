"""Serving the metrics: `/metrics` on the web app, a port of its own for a role run alone, and
the multi-process set-up of `guichet run`.

Under `guichet run` the supervisor gives every child `PROMETHEUS_MULTIPROC_DIR` (emptied when
it starts), each process writes its counters there, and `/metrics` sums them
(prometheus_client's multi-process mode); the supervisor marks a child that exits as dead so
its live gauges leave the sum. A role run alone counts in memory."""

from __future__ import annotations

import hmac
import ipaddress
import os
import shutil
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ingest.settings import Settings, host_port

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir(home: Path) -> Path:
    return (home / "metrics").resolve()


def fresh_multiprocess_dir(home: Path) -> Path:
    """Emptied: what a previous run counted must not be added to this one's."""
    path = multiprocess_dir(home)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def children_env(home: Path) -> dict[str, str]:
    """What `guichet run` adds to its children's environment: the shared folder, and no
    port of their own (the web app serves the sum)."""
    return {MULTIPROC_ENV: str(multiprocess_dir(home)), "GUICHET_METRICS_LISTEN": ""}


def process_exited(home: Path, pid: int) -> None:
    """A child of `guichet run` is gone: its live gauges (work in progress) stop counting."""
    multiprocess.mark_process_dead(pid, str(multiprocess_dir(home)))


class _Counted(Collector):
    """What the processes counted: every process's files, or this process's memory."""

    def collect(self):
        if os.environ.get(MULTIPROC_ENV):
            yield from multiprocess.MultiProcessCollector(None).collect()
        else:
            yield from REGISTRY.collect()


def registry(*extra: Collector) -> CollectorRegistry:
    """The counters plus `extra` collectors read at scrape time (queues, parked messages)."""
    found = CollectorRegistry(auto_describe=False)
    found.register(_Counted())
    for collector in extra:
        found.register(collector)
    return found


def metrics_route(settings: Settings, *extra: Collector) -> Route:
    """`GET /metrics`: a bearer token when `metrics_token` is set, else loopback clients only."""
    scraped = registry(*extra)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None

    async def endpoint(request: Request) -> Response:
        if not allowed(request, token):
            return PlainTextResponse("forbidden\n", 403)
        body = await run_in_threadpool(generate_latest, scraped)
        return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return Route("/metrics", endpoint, methods=["GET"])


def allowed(request: Request, token: str | None) -> bool:
    if token:
        sent = request.headers.get("authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    try:
        return ipaddress.ip_address(request.client.host if request.client else "").is_loopback
    except ValueError:
        return False


def serve_alone(settings: Settings, port: int | None, *extra: Collector):
    """For `guichet smtp` / `guichet worker` run alone: `--metrics-port` (loopback) or the
    `metrics_listen` setting. Returns the HTTP server (in a daemon thread), None when asked
    for nothing."""
    listen = f"127.0.0.1:{port}" if port else settings.metrics_listen
    if not listen:
        return None
    host, number = host_port(listen)
    server, _ = start_http_server(number, addr=host, registry=registry(*extra))
    return server
