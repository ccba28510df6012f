"""Cost of the /admin console for the webhook edge: the same requests, the webhook app alone
against the app `guichet web` serves (the console mounted beside it), in process CPU time.

What is measured: N requests driven straight into each ASGI app, in this process, with no
socket and no HTTP client, so that what is counted is the application's own work (routing,
middleware, the handler, the answer) and nothing else.  Two requests that touch neither the
database nor Redis, so that the routing in front of the edge is a large share of the work:

  GET /healthz          the edge's cheapest route
  POST /v1/requests     an unsigned partner request, refused (401) by the edge's gate

For each app and request: microseconds of process CPU per request, best of R interleaved
rounds (other load on the machine only ever adds time).  The webhook handlers, the intake,
the parser and the store are the same code in both apps; the difference is the outer
router and its mount.

Usage: .venv/bin/python bench/web_routing.py [--requests 20000] [--rounds 5] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = (("GET", "/healthz", b""), ("POST", "/v1/requests", b'{"subject": "x"}'))


class Stubs:
    """The edge's ports, never reached by these two requests except the partner look-up."""

    def find(self, name):
        return None

    def __getattr__(self, name):
        raise AssertionError(f"the bench request reached {name}")


def apps():
    from ingest.edges.addresses import AddressBook
    from ingest.edges.webhook.app import create_app
    from ingest.edges.webhook.ports import Services
    from ingest.settings import Settings
    from workers.running.web_process import with_console

    home = Path(tempfile.mkdtemp(prefix="guichet-bench-"))
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'db.sqlite3'}")
    stub = Stubs()
    services = Services(
        stub, stub, stub, stub, stub, stub, AddressBook(["support@dri.example"], [])
    )
    return {
        "webhook app alone": create_app(services),
        "guichet web (with /admin)": with_console(settings, create_app(services)),
    }


async def drive(app, method: str, path: str, body: bytes, count: int) -> int:
    statuses = set()

    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    headers = [(b"host", b"127.0.0.1:8025"), (b"content-type", b"application/json")]
    for _ in range(count):
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
            "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": b"", "headers": headers, "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8025), "state": {},
        }  # fmt: skip
        await app(scope, receive, send)
    return statuses.pop() if len(statuses) == 1 else -1


def measure(app, request, count: int) -> tuple[float, int]:
    started = time.process_time()
    status = asyncio.run(drive(app, *request, count))
    return (time.process_time() - started) / count * 1e6, status


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    targets = apps()
    best: dict[tuple[str, str], float] = {}
    statuses: dict[tuple[str, str], int] = {}
    for _ in range(options.rounds):
        for request in REQUESTS:
            for name, app in targets.items():
                key = (name, f"{request[0]} {request[1]}")
                micros, statuses[key] = measure(app, request, options.requests)
                best[key] = min(best.get(key, micros), micros)
    rows = [
        {
            "app": name,
            "request": req,
            "us_per_request": round(us, 1),
            "status": statuses[(name, req)],
        }
        for (name, req), us in best.items()
    ]
    if options.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{options.requests} requests per app and request, best of {options.rounds} rounds")
    print(f"{'request':20} {'app':28} {'CPU us/req':>10} {'status':>7}")
    for row in rows:
        print(f"{row['request']:20} {row['app']:28} {row['us_per_request']:>10} {row['status']:>7}")
    print(f"load average {os.getloadavg()[0]:.2f}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
