"""End to end: `guichet run` (workers included) beside a bare aiosmtpd writing a Maildir.

What is measured, for each corpus (--corpora small,large):

  small   5-6 KB customer mails (plain, multipart/alternative, a small attachment), from the
          declared contacts of config/directory-demo.csv and strangers
  large   ~50 KB mails with attachments (a PDF-like binary, a pasted log as text/plain
          attachment, an HTML alternative)

Both are generated deterministically (--seed).  N mails (--mails) are sent over C concurrent
loopback SMTP connections (--concurrency), one message at a time per connection.

  guichet    `python -m workers.cli.main run --no-web` in a temporary GUICHET_HOME (SQLite,
             embedded Redis with appendfsync always, Maildir outbox, the demo directory
             loaded): the clock stops when every intake is filed (no intake left
             "received") and every acknowledgement is written in the outbox (none left
             "pending" or "sending"); the bench polls the database for that.
  baseline   bare aiosmtpd whose handler writes each mail to a Maildir (tmp/, fsync,
             rename into new/) before answering 250: receiving and making durable, nothing else.

For each we print mails/s (from the first MAIL to the last acknowledgement written; for the
baseline to the last 250) and the CPU time per mail of every role, read from /proc
(bench/proc_cpu.py: utime+stime of each process of the tree): smtp (the listener),
parsers (its parser processes), worker, redis, run (the supervisor).  CPU per mail is far
less sensitive to other load on the machine than mails/s; both targets run in the same
invocation, one after the other, so compare them side by side.  Beside them: the client's
own CPU per mail (this process: the SMTP sessions and the polls for the end) and how many
cores the whole machine kept busy over the run, which tells a run bound by the two cores
(guichet + client + anything else ≈ 2) from one bound by something else.  A warm-up of --warmup mails
(not counted) goes first, so start-up and first imports are not measured.

Environment given to guichet: GUICHET_ACK_RATE_LIMIT=1000000 (the same few demo senders
write hundreds of mails; the per-sender limit would otherwise skip most acknowledgements),
GUICHET_WORKER_PROCESSES when --workers is given.  Everything else is the default.

Usage: .venv/bin/python bench/e2e_throughput.py [--mails 600] [--concurrency 8]
       [--corpora small,large] [--only guichet,baseline] [--workers N] [--idle 20] [--json]

--idle S: after the warm-up, S seconds with nothing sent, guichet's CPU per role in per cent
of one core (the idle cost: consumer polling, sweeper, template polling).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common  # same folder; also puts the repository on sys.path
import proc_cpu
from smtp_throughput import OPENINGS, RECIPIENT, SENDERS, sized_mail

TARGETS = ("guichet", "baseline")
CORPORA = ("small", "large")
ROLE_ORDER = ("smtp", "parsers", "worker", "redis", "run", "web", "baseline", "other")


# -- mails -----------------------------------------------------------------------------


def make_mail(i: int, rng: random.Random, corpus: str, run_tag: str) -> tuple[str, bytes]:
    """(envelope sender, bytes) of mail `i`: 5-6 KB ("small") or ~50 KB ("large")."""
    sender = rng.choice(SENDERS)
    address = sender[1]
    opening = rng.choice(OPENINGS).format(n=rng.randint(1, 99))
    low, high = (5000, 6000) if corpus == "small" else (48000, 54000)
    size = rng.randint(low, high)
    kind = ("plain", "alternative", "attachment")[i % 3] if corpus == "small" else "large"
    blob = rng.randbytes(rng.randint(600, 1200) if kind == "attachment" else 0)
    attachments: tuple = ((blob, "log.pdf"),) if kind == "attachment" else ()
    if kind == "large":
        blob = rng.randbytes(rng.randint(16000, 20000))
        log = "\n".join(
            f"2026-11-26 09:{k % 60:02d}:{k % 7:02d} srv-web01 nginx[812]: upstream timed out "
            f"(110: Connection timed out) while reading response header, request {k}"
            for k in range(60)
        )
        attachments = ((blob, "rapport.pdf"), (log, "nginx-error.log"))
    raw = sized_mail(
        sender,
        opening,
        f"Incident {i} : {opening[:40]}",
        f"<e2e-{run_tag}-{corpus}-{i}@{address.split('@')[1]}>",
        size,
        html=kind in ("alternative", "large"),
        attachments=attachments,
    )
    return address, raw


def make_mails(count: int, corpus: str, seed: int, run_tag: str) -> list[tuple[str, bytes]]:
    rng = random.Random(f"{seed}-{corpus}")
    return [make_mail(i, rng, corpus, run_tag) for i in range(count)]


# -- sending ---------------------------------------------------------------------------


async def send_all(port: int, mails: list, concurrency: int, progress) -> dict:
    """Send every mail over `concurrency` connections; latencies and reply codes."""
    import aiosmtplib

    queue = list(reversed(mails))
    outcome = {"latencies": [], "codes": {}, "errors": []}

    async def connection() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=120)
        await client.connect()
        try:
            while queue:
                sender, data = queue.pop()
                started = time.perf_counter()
                errors, reply = await client.sendmail(sender, [RECIPIENT], data)
                code = 250 if not errors else 550
                outcome["latencies"].append(time.perf_counter() - started)
                outcome["codes"][code] = outcome["codes"].get(code, 0) + 1
                progress(1)
        except aiosmtplib.SMTPResponseException as exc:
            outcome["codes"][exc.code] = outcome["codes"].get(exc.code, 0) + 1
            raise
        finally:
            with contextlib.suppress(Exception):
                await client.quit()

    return await common.run_connections(connection, concurrency, outcome)


def wait_port(port: int, process: subprocess.Popen, log: Path, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited early:\n{log.read_text(errors='replace')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(4).startswith(b"220"):
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"port {port} never answered:\n{log.read_text(errors='replace')[-3000:]}")


# -- guichet ---------------------------------------------------------------------------


class Guichet:
    """`guichet run --no-web` in a temporary home, with the demo directory loaded."""

    def __init__(self, home: Path, workers: int | None):
        from tests.support.services import free_port

        self.home, self.port = home, free_port()
        self.db = home / "guichet.sqlite3"
        self.env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        self.env.update(
            GUICHET_HOME=str(home),
            GUICHET_SMTP_LISTEN=f"127.0.0.1:{self.port}",
            GUICHET_HTTP_LISTEN=f"127.0.0.1:{free_port()}",
            GUICHET_ACK_RATE_LIMIT="1000000",
        )
        if workers:
            self.env["GUICHET_WORKER_PROCESSES"] = str(workers)

    def start(self) -> Guichet:
        from ingest.config_files import config_dir
        from workers.store.directory import read_csv, store_accounts
        from workers.store.engine import session_factory
        from workers.store.migrate import upgrade

        url = f"sqlite:///{self.db}"
        upgrade(url)
        accounts, problems = read_csv(config_dir() / "directory-demo.csv")
        assert not problems, problems
        with session_factory(url).begin() as session:
            store_accounts(session, accounts.values())
        self.log = self.home / "guichet.log"
        command = [sys.executable, "-m", "workers.cli.main", "run", "--no-web"]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=out, env=self.env, cwd=common.ROOT
            )
        wait_port(self.port, self.process, self.log)
        return self

    def counts(self) -> dict[str, int]:
        """Intakes, those not filed yet, acknowledgements pending or sending, sent, outbox files."""
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=30) as conn:
            one = lambda sql: conn.execute(sql).fetchone()[0]  # noqa: E731
            result = {
                "intakes": one("SELECT count(*) FROM intakes"),
                "unfiled": one("SELECT count(*) FROM intakes WHERE status = 'received'"),
                "acks_waiting": one(
                    "SELECT count(*) FROM acks WHERE status IN ('pending', 'sending')"
                ),
                "acks_sent": one("SELECT count(*) FROM acks WHERE status = 'sent'"),
                "tickets": one("SELECT count(*) FROM tickets"),
            }
        conn.close()
        outbox = self.home / "outbox" / "new"
        result["outbox"] = len(os.listdir(outbox)) if outbox.exists() else 0
        return result

    def wait_done(self, expected: int, timeout: float) -> dict[str, int]:
        deadline = time.monotonic() + timeout
        while True:
            counts = self.counts()
            done = counts["intakes"] >= expected and counts["unfiled"] == 0
            if done and counts["acks_waiting"] == 0 and counts["outbox"] >= counts["acks_sent"]:
                return counts
            if time.monotonic() > deadline:
                raise RuntimeError(f"not done after {timeout} s: {counts}")
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.process)


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(90)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- baseline --------------------------------------------------------------------------


class MaildirHandler:
    """Write the mail to a Maildir, durably, then answer 250 (the floor of "durable before 250")."""

    def __init__(self, maildir: Path):
        self.maildir, self.count = maildir, 0
        for sub in ("tmp", "new", "cur"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        self.new_fd = os.open(maildir / "new", os.O_RDONLY)

    async def handle_DATA(self, server, session, envelope) -> str:
        self.count += 1
        name = f"{time.time():.6f}.{os.getpid()}_{self.count}.bench"
        tmp = self.maildir / "tmp" / name
        with open(tmp, "wb") as fh:
            fh.write(envelope.original_content)
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(tmp, self.maildir / "new" / name)
        os.fsync(self.new_fd)
        return "250 2.0.0 Ok"


def serve_baseline(port: int, maildir: Path) -> None:
    from smtp_throughput import serve_bare

    asyncio.run(serve_bare(MaildirHandler(maildir), port))


class Baseline:
    def __init__(self, home: Path):
        from tests.support.services import free_port

        self.home, self.port = home, free_port()

    def start(self) -> Baseline:
        self.log = self.home / "baseline.log"
        command = [sys.executable, __file__, "--serve", "--port", str(self.port)]
        command += ["--maildir", str(self.home / "Maildir")]
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=out)
        wait_port(self.port, self.process, self.log)
        return self

    def wait_done(self, expected: int, timeout: float) -> dict[str, int]:
        return {"stored": len(os.listdir(self.home / "Maildir" / "new"))}

    def stop(self) -> None:
        stop_process(self.process)


# -- one measurement -------------------------------------------------------------------


def measure(target: str, corpus: str, args) -> dict:
    run_tag = f"{os.getpid()}{time.monotonic_ns() % 100000}"
    mails = make_mails(args.warmup + args.mails, corpus, args.seed, run_tag)
    warmup, timed = mails[: args.warmup], mails[args.warmup :]
    with tempfile.TemporaryDirectory(prefix=f"e2e-{target}-") as tmp:
        home = Path(tmp)
        server = Guichet(home, args.workers) if target == "guichet" else Baseline(home)
        server.start()
        try:
            asyncio.run(send_all(server.port, warmup, 2, lambda n: None))
            server.wait_done(len(warmup), args.timeout)
            time.sleep(1.0)  # let the warm-up's stragglers (sweeper, logs) settle
            idle = measure_idle(server.process.pid, args.idle) if target == "guichet" else {}
            before = proc_cpu.Snapshot.take(server.process.pid)
            progress = common.Progress(f"{target} {corpus}", len(timed), args.json)
            outcome = asyncio.run(send_all(server.port, timed, args.concurrency, progress))
            counts = server.wait_done(len(mails), args.timeout)
            after = proc_cpu.Snapshot.take(server.process.pid)
        finally:
            server.stop()
    return {**summarise(target, corpus, timed, outcome, counts, before, after), **idle}


def measure_idle(pid: int, seconds: float) -> dict:
    """Per cent of one core each role uses while nothing arrives, over `seconds`."""
    if not seconds:
        return {}
    before = proc_cpu.Snapshot.take(pid)
    time.sleep(seconds)
    after = proc_cpu.Snapshot.take(pid)
    cpu, elapsed = proc_cpu.cpu_between(before, after), after.at - before.at
    by_role = {role: round(100 * cpu[role] / elapsed, 2) for role in ROLE_ORDER if role in cpu}
    return {
        "idle_pct_of_core": round(100 * sum(cpu.values()) / elapsed, 2),
        "idle_by_role": by_role,
    }


def summarise(target, corpus, mails, outcome, counts, before, after) -> dict:
    n = len(mails)
    elapsed = after.at - before.at
    cpu = proc_cpu.cpu_between(before, after)
    per_mail = {role: round(cpu[role] * 1000 / n, 2) for role in ROLE_ORDER if role in cpu}
    return {
        "target": target,
        "corpus": corpus,
        "mails": n,
        "mean_kb": round(sum(len(m[1]) for m in mails) / n / 1024, 1),
        "elapsed_s": round(elapsed, 2),
        "mails_per_s": round(n / elapsed, 1),
        "smtp_p50_ms": round(common.percentile(outcome["latencies"], 50) * 1000, 1),
        "cpu_ms_per_mail": round(sum(cpu.values()) * 1000 / n, 2),
        "cpu_ms_per_mail_by_role": per_mail,
        "cores_used": round(sum(cpu.values()) / elapsed, 2),
        # The client (this process: SMTP sessions, then the polls for the end) and the whole
        # machine over the same interval: how much of the cores guichet could have had.
        "client_ms_per_mail": round((after.caller - before.caller) * 1000 / n, 2),
        "machine_cores_busy": round((after.machine - before.machine) / elapsed, 2),
        "codes": {str(k): v for k, v in outcome["codes"].items()},
        "errors": outcome["errors"][:5],
        "counts": counts,
    }


def print_table(rows: list[dict]) -> None:
    print(
        f"{'target':<9}{'corpus':<7}{'KB':>6}{'mails':>7}{'mails/s':>9}{'cores':>7}"
        f"{'CPU ms/mail':>13}   by role (ms/mail)"
    )
    for r in rows:
        roles = "  ".join(f"{k} {v}" for k, v in r["cpu_ms_per_mail_by_role"].items())
        print(
            f"{r['target']:<9}{r['corpus']:<7}{r['mean_kb']:>6}{r['mails']:>7}"
            f"{r['mails_per_s']:>9}{r['cores_used']:>7}{r['cpu_ms_per_mail']:>13}   {roles}"
        )
        if r["errors"] or set(r["codes"]) - {"250"}:
            print(f"    replies {r['codes']} errors {r['errors']}")
        print(
            f"    client {r['client_ms_per_mail']} ms/mail; machine busy"
            f" {r['machine_cores_busy']} of {os.cpu_count()} cores"
        )
        if r["target"] == "guichet":
            print(f"    {r['counts']}")
        if "idle_pct_of_core" in r:
            roles = "  ".join(f"{k} {v}" for k, v in r["idle_by_role"].items())
            print(f"    idle before the run: {r['idle_pct_of_core']} % of one core   {roles}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mails", type=int, default=600, help="timed mails per corpus")
    parser.add_argument("--warmup", type=int, default=20, help="untimed mails first")
    parser.add_argument("--concurrency", type=int, default=8, help="SMTP connections")
    parser.add_argument("--corpora", default="small,large", help="small, large or both")
    parser.add_argument("--only", default=",".join(TARGETS), help="guichet, baseline or both")
    parser.add_argument("--workers", type=int, help="GUICHET_WORKER_PROCESSES for guichet")
    parser.add_argument(
        "--idle", type=float, default=0, help="seconds of idle CPU measured after the warm-up"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--timeout", type=float, default=900, help="seconds per run, at most")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--maildir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_baseline(args.port, Path(args.maildir))
        return
    common.exit_on_sigterm()
    targets = common.chosen_targets(parser, args.only, TARGETS)
    corpora = common.chosen_targets(parser, args.corpora, CORPORA)
    load_before = os.getloadavg()
    rows = [measure(t, c, args) for c in corpora for t in targets]
    load = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}
    if args.json:
        json.dump({"loadavg": load, "results": rows}, sys.stdout, indent=2)
        print()
    else:
        print_table(rows)
        print(
            f"load average {load['before'][0]:.2f} before, {load['after'][0]:.2f} after, "
            f"{load['cpus']} CPUs"
        )


if __name__ == "__main__":
    main()
