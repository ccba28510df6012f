"""What the edge throughput benches (smtp_throughput.py, http_throughput.py) share.

Each bench runs its targets in child processes (`Server`, started again as the bench script
with `--serve TARGET`), drives them from this process over C concurrent loopback
connections, and reports the best of R interleaved rounds per target.  This module holds
the parts that do not depend on the protocol: the command line, the child process and its
Redis and throw-away database, the progress line, the statistics and the report.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.support (free ports, throw-away databases)


# -- command line ----------------------------------------------------------------------


def make_parser(doc: str, targets: tuple[str, ...], unit: str) -> argparse.ArgumentParser:
    """The bench's options; `unit` ("message", "request") names what is sent."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(f"--{unit}s", type=int, default=2000, help=f"{unit}s per target")
    parser.add_argument("--concurrency", type=int, default=8, help="client connections")
    parser.add_argument(
        "--only", default=",".join(targets), help=f"comma-separated subset of {','.join(targets)}"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds; the best one per target is kept"
    )
    parser.add_argument("--warmup", type=int, default=40, help=f"untimed {unit}s first")
    parser.add_argument("--timeout", type=float, default=600, help="seconds per target, at most")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--serve", choices=targets, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    parser.add_argument("--redis-url", help=argparse.SUPPRESS)
    return parser


def start(
    doc: str, targets: tuple[str, ...], unit: str, serve: Callable[[argparse.Namespace], None]
) -> tuple[argparse.Namespace, list[str]] | None:
    """Parse the command line.  In a child (--serve) run `serve` and give None; else the
    options and the chosen targets, with SIGTERM set to unwind like Ctrl-C."""
    parser = make_parser(doc, targets, unit)
    args = parser.parse_args()
    if args.serve:
        serve(args)
        return None
    exit_on_sigterm()
    return args, chosen_targets(parser, args.only, targets)


def exit_on_sigterm() -> None:
    """SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C, so servers, Redis and databases stop."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def chosen_targets(
    parser: argparse.ArgumentParser, only: str, targets: tuple[str, ...]
) -> list[str]:
    """The targets named by --only, in the order given; unknown names are a usage error."""
    chosen = [t.strip() for t in only.split(",") if t.strip()]
    unknown = set(chosen) - set(targets)
    if unknown:
        parser.error(f"unknown target(s): {', '.join(sorted(unknown))}")
    return chosen


def skip_unreachable_postgres(targets: list[str]) -> None:
    """Drop "postgres" from `targets` (and say so) when PostgreSQL cannot be reached."""
    if "postgres" in targets and not postgres_reachable():
        targets.remove("postgres")
        print("postgres skipped: PostgreSQL unreachable", file=sys.stderr)


def postgres_reachable() -> bool:
    try:
        from sqlalchemy import create_engine, text

        from tests.support.services import PG_ADMIN_URL

        engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 2})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return True
    except Exception:
        return False


# -- servers (child processes) ---------------------------------------------------------


class Server:
    """A target in a child process; for guichet, with its own Redis and database.

    Subclasses set `script` (the bench, run again with --serve), `ready()` (does the
    server answer yet?) and may set `env` (added to the child's environment) and
    `setup_database(url)` (more rows once the directory is loaded).
    """

    script: str
    env: dict[str, str] = {}

    def __init__(self, target: str, home: Path):
        from tests.support.services import free_port

        self.target, self.home, self.port = target, home, free_port()
        self.redis = self.pg = None
        self.process: subprocess.Popen | None = None

    def ready(self) -> bool:
        raise NotImplementedError

    def setup_database(self, url: str) -> None:
        pass

    def start(self) -> Server:
        command = [sys.executable, self.script, "--serve", self.target, "--port", str(self.port)]
        if self.target in ("sqlite", "postgres"):
            command += self._prepare_guichet()
        self.log = (self.home / f"{self.target}.log").open("wb")
        env = {**os.environ, **self.env}
        self.process = subprocess.Popen(command, stderr=self.log, stdout=self.log, env=env)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.ready():
                return self
            time.sleep(0.1)
        self.stop()
        tail = Path(self.log.name).read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.target} did not start:\n{tail}")

    def _prepare_guichet(self) -> list[str]:
        from ingest.config_files import config_dir
        from tests.support.services import PostgresDatabases, free_port
        from workers.running.embedded_redis import EmbeddedRedis
        from workers.store.directory import read_csv, store_accounts
        from workers.store.engine import session_factory
        from workers.store.migrate import upgrade

        self.redis = EmbeddedRedis(self.home / "redis", port=free_port(), socket=None).start()
        if self.target == "postgres":
            self.pg = PostgresDatabases()
            url = self.pg.create()
        else:
            url = f"sqlite:///{self.home / 'guichet.sqlite3'}"
        upgrade(url)
        accounts, problems = read_csv(config_dir() / "directory-demo.csv")
        assert not problems, problems
        with session_factory(url).begin() as session:
            store_accounts(session, accounts.values())
        self.setup_database(url)
        return ["--home", str(self.home), "--database-url", url, "--redis-url", self.redis.url]

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the served process itself ("edge": its event loop and
        threads), its children ("children": the parser processes) and its Redis: the
        server's side of the run, whatever the client costs."""
        import proc_cpu

        def used(procs) -> float:
            return sum(p.own + p.reaped for p in procs)

        served = proc_cpu.tree(self.process.pid)
        parts = {
            "edge": used(p for p in served.values() if p.pid == self.process.pid),
            "children": used(p for p in served.values() if p.pid != self.process.pid),
        }
        if self.redis:
            parts["redis"] = used(proc_cpu.tree(self.redis.process.pid).values())
        return parts

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.redis:
            self.redis.stop()
        if self.pg:
            self.pg.drop_all()


# -- client ----------------------------------------------------------------------------


class Progress:
    """A counter line on stderr, redrawn at most 4 times a second."""

    def __init__(self, label: str, total: int, quiet: bool):
        self.label, self.total, self.done, self.shown = label, total, 0, 0.0
        self.quiet, self.tty = quiet, sys.stderr.isatty()

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        finished = self.done == self.total
        if not self.quiet and (finished or (self.tty and now - self.shown > 0.25)):
            self.shown = now
            print(f"\r  {self.label}: {self.done}/{self.total}", end="", file=sys.stderr)
            if finished:
                print(file=sys.stderr)


async def run_connections(connection: Callable, concurrency: int, outcome: dict) -> dict:
    """Run `concurrency` copies of `connection()` at once, filling `outcome` (latencies,
    codes, errors); adds the elapsed time and the errors the connections raised."""
    started = time.perf_counter()
    results = await asyncio.gather(
        *(connection() for _ in range(concurrency)), return_exceptions=True
    )
    outcome["elapsed"] = time.perf_counter() - started
    outcome["errors"] += [repr(r) for r in results if isinstance(r, BaseException)]
    return outcome


def measure(
    server_class: type[Server], target: str, prefix: str, drive, items, warmup, args, label: str
) -> dict:
    """Start the target, warm it up, then drive every item at it; the outcome of `drive`."""
    with tempfile.TemporaryDirectory(prefix=f"{prefix}{target}-") as tmp:
        server = server_class(target, Path(tmp)).start()
        try:
            asyncio.run(drive(server.port, warmup, 2, time.monotonic() + 60, lambda n: None))
            progress = Progress(target + label, len(items), args.json)
            deadline = time.monotonic() + args.timeout
            before, client_before = server.cpu(), time.process_time()
            outcome = asyncio.run(drive(server.port, items, args.concurrency, deadline, progress))
            outcome["client_cpu_s"] = time.process_time() - client_before
            after = server.cpu()
            outcome["server_cpu_parts_s"] = {k: after[k] - before[k] for k in after}
            outcome["server_cpu_s"] = sum(outcome["server_cpu_parts_s"].values())
        finally:
            server.stop()
    return outcome


# -- statistics and report -------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def summarise(
    target: str, outcome: dict, concurrency: int, count_key: str, rate_key: str, ok: int
) -> dict:
    """One result row: what was sent, the rate, latencies in ms, replies other than `ok`."""
    lat, sent = outcome["latencies"], sum(outcome["codes"].values())

    def ms(p: float) -> float | None:
        return round(percentile(lat, p) * 1000, 2) if lat else None

    return {
        "target": target,
        count_key: sent,
        "concurrency": concurrency,
        "elapsed_s": round(outcome["elapsed"], 3),
        rate_key: round(sent / outcome["elapsed"], 1) if sent else 0.0,
        "p50_ms": ms(50),
        "p95_ms": ms(95),
        "p99_ms": ms(99),
        "mean_ms": round(statistics.fmean(lat) * 1000, 2) if lat else None,
        # The server's CPU (its process tree and its Redis) per item, in ms.
        "cpu_ms": round(outcome["server_cpu_s"] * 1000 / sent, 2) if sent else None,
        # The same, per part (edge process, its children, Redis), and the client's own.
        "cpu_parts_ms": {
            part: round(seconds * 1000 / sent, 2) if sent else None
            for part, seconds in outcome["server_cpu_parts_s"].items()
        },
        "client_cpu_ms": round(outcome["client_cpu_s"] * 1000 / sent, 2) if sent else None,
        f"non_{ok}": sum(n for code, n in outcome["codes"].items() if code != ok),
        "codes": {str(k): v for k, v in sorted(outcome["codes"].items())},
        "errors": outcome["errors"][:5],
    }


def best_of_rounds(
    targets: list[str], rounds: int, run: Callable[[str, str], dict], rate_key: str
) -> tuple[list[dict], dict]:
    """Run every target `rounds` times, interleaved so that load changes hit every target;
    the best row of each (by `rate_key`) and the load average before and after."""
    load_before = os.getloadavg()
    best: dict[str, dict] = {}
    for round_ in range(1, rounds + 1):
        for target in targets:
            row = run(target, f" (round {round_})")
            if target not in best or row[rate_key] > best[target][rate_key]:
                best[target] = row
    load = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}
    return [best[t] for t in targets], load


def table_line(first: str, cells) -> str:
    return f"{first:<10}" + "".join(f"{c:>10}" for c in cells)


def cpu_parts_lines(rows: list[dict], unit: str) -> list[str]:
    """Under a table: where each target's CPU per item went, and the client's own."""
    lines = []
    for r in rows:
        if "cpu_parts_ms" not in r:
            continue
        parts = ", ".join(f"{part} {ms}" for part, ms in r["cpu_parts_ms"].items())
        lines.append(f"{r['target']:<10}  cpu ms per {unit}: {parts}; client {r['client_cpu_ms']}")
    return lines


def report(rounds: int, as_json: bool, rows: list[dict], load: dict, print_table) -> None:
    """The result on stdout: JSON, or the bench's table and a line on rounds and load."""
    if as_json:
        json.dump({"rounds": rounds, "loadavg": load, "results": rows}, sys.stdout, indent=2)
        print()
    else:
        print_table(rows)
        print(
            f"best of {rounds} round(s); load average {load['before'][0]:.2f} before, "
            f"{load['after'][0]:.2f} after, {load['cpus']} CPUs"
        )
