"""SMTP listener memory: is it flat over a long stream of mails, and what does one big mail cost?

Both parts drive guichet's real SMTP listener, started as smtp_throughput.py's "sqlite"
target (workers.running.edges.serve_smtp in a child process: parser processes, SqlJournal on
SQLite in a temp dir, a temporary redis-server; workers NOT running), over loopback SMTP.
Memory is read from /proc/PID/status: VmRSS (resident now) and VmHWM (peak resident) of the
listener process, and of its parser processes (the children of its multiprocessing
forkserver), which are reported apart from the listener.  1 MB = 1,000,000 bytes.

  flat   N mails (--mails) of 5-6 KB (e2e_throughput.py's "small" corpus) over C concurrent
         connections (--concurrency).  Every --every mails (default N/20) VmRSS is sampled:
         the listener's, and the sum over the parsers.  Reported per process kind: the
         sample after the warm-up (the first one at or after --warmup mails), the last one,
         the max from the warm-up on, and the growth from the warm-up sample to the last in
         per cent.  Target: listener RSS flat (within +-10 %) over 100,000 mails.
  big    In a fresh listener (so its peak is clean), --big-warmup small mails first; then
         VmHWM of the listener and of each parser is read, ONE mail of --big-mb MB is sent
         (a short text part and a base64 PDF attachment of random bytes, CRLF line ends,
         built with the email package) and must get 250, and VmHWM is read again.
         Reported: the peak growth of the listener and of the parser that grew most, in MB
         and as a multiple of the mail's size.  Target: at most 4x.

The small mails cycle over --distinct generated ones (building one costs ~10 ms of CPU, which
would compete with the listener on a small machine); each is sent with its own Message-ID.
GUICHET_MAX_MESSAGE_SIZE is given to the listener: the configured value, or more when the big
mail (plus 1 MB) would not fit; the value is printed.  The load average before and after is
printed with the tables.

Usage: .venv/bin/python bench/edge_memory.py [--mails 100000] [--concurrency 8]
       [--every N/20] [--warmup 2000] [--big-mb 25] [--big-warmup 300] [--only flat,big]
       [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import common  # same folder; also puts the repository on sys.path
import proc_cpu
import smtp_throughput
from e2e_throughput import make_mails
from smtp_throughput import OPENINGS, SENDERS, sized_mail

PARTS = ("flat", "big")
MB = 1_000_000
POOL_TAG = "memory"  # e2e_throughput.make_mail's Message-IDs start "<e2e-{tag}-small-{i}@"


# -- mails -----------------------------------------------------------------------------


def small_mails(count: int, distinct: int, seed: int, prefix: str) -> Iterator[tuple[str, bytes]]:
    """`count` mails of 5-6 KB, cycling over `distinct` built ones; Message-IDs all differ."""
    pool = make_mails(max(1, min(count, distinct)), "small", seed, POOL_TAG)
    marker = f"<e2e-{POOL_TAG}-small-".encode()
    assert all(marker in raw for _, raw in pool), "e2e_throughput's Message-IDs changed"
    for i in range(count):
        sender, raw = pool[i % len(pool)]
        yield sender, raw.replace(marker, f"<{prefix}-{i}-".encode(), 1)


def big_mail(size_mb: float, seed: int) -> tuple[str, bytes]:
    """(sender, bytes) of a mail of about `size_mb` MB with CRLF line ends: a short text
    part and a PDF attachment of random bytes (base64: 76 characters + CRLF per 57 bytes)."""
    sender = SENDERS[0]
    blob = random.Random(seed).randbytes(max(0, int((size_mb * MB - 2000) * 57 / 78)))
    raw = sized_mail(
        sender,
        OPENINGS[0].format(n=7),
        "Journaux du serveur en pièce jointe",
        "<edge-memory-big@armor-logistique.fr>",
        0,  # no filler: the text part stays short
        attachments=((blob, "journaux.pdf"),),
    )
    return sender[1], raw.replace(b"\n", b"\r\n")


# -- the listener and its memory -------------------------------------------------------


def size_limit(big_bytes: int) -> tuple[int, int]:
    """(configured max_message_size, the value to give the listener)."""
    from ingest.settings import Settings

    configured = Settings().max_message_size
    return configured, max(configured, big_bytes + MB)


@contextlib.contextmanager
def fresh_listener(part: str, env: dict[str, str]) -> Iterator[smtp_throughput.Server]:
    """guichet's SMTP listener in a child process, with its own temp home, SQLite and Redis."""
    with tempfile.TemporaryDirectory(prefix=f"edge-memory-{part}-") as tmp:
        server = smtp_throughput.Server("sqlite", Path(tmp))
        server.env = env
        server.start()
        try:
            yield server
        finally:
            server.stop()


def status_bytes(pid: int, field: str) -> int | None:
    """A memory field of /proc/PID/status ("VmRSS", "VmHWM") in bytes; None if pid is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024  # the kernel's "kB" are KiB
    except OSError:
        return None
    return None


def parser_pids(listener: int) -> list[int]:
    """The listener's parser processes: the children of its multiprocessing forkserver."""
    procs = proc_cpu.tree(listener)
    forkservers = {
        p.pid
        for p in procs.values()
        if p.ppid == listener and "multiprocessing.forkserver" in p.cmdline
    }
    return sorted(p.pid for p in procs.values() if p.ppid in forkservers)


def memory(listener: int, field: str) -> dict:
    """`field` in bytes: {"listener": n, "parsers": {pid: n}}."""
    parsers = {pid: status_bytes(pid, field) for pid in parser_pids(listener)}
    return {
        "listener": status_bytes(listener, field) or 0,
        "parsers": {pid: n for pid, n in parsers.items() if n is not None},
    }


def mb(n: float) -> float:
    return round(n / MB, 1)


def send(port: int, mails, concurrency: int, progress, timeout: float) -> dict:
    """smtp_throughput's client: latencies, reply codes, errors, elapsed."""
    deadline = time.monotonic() + timeout
    return asyncio.run(smtp_throughput.drive(port, mails, concurrency, deadline, progress))


def codes(outcome: dict) -> dict[str, int]:
    return {str(k): v for k, v in sorted(outcome["codes"].items())}


# -- flat: RSS over a long stream ------------------------------------------------------


class Sampler:
    """The flat run's progress callback: counts replies, samples VmRSS at the given counts."""

    def __init__(self, listener: int, points: set[int], progress: common.Progress):
        self.listener, self.points, self.progress = listener, points, progress
        self.done = 0
        self.samples = [self.take()]

    def __call__(self, n: int) -> None:
        self.progress(n)
        self.done += n
        if self.done in self.points:
            self.samples.append(self.take())

    def take(self) -> dict:
        now = memory(self.listener, "VmRSS")
        return {
            "mails": self.done,
            "listener_mb": mb(now["listener"]),
            "parsers_mb": mb(sum(now["parsers"].values())),
            "parsers": len(now["parsers"]),
        }


def sample_points(mails: int, every: int, warmup: int) -> set[int]:
    return {min(warmup, mails), mails, *range(every, mails + 1, every)}


def run_flat(args: argparse.Namespace, env: dict[str, str]) -> dict:
    with fresh_listener("flat", env) as server:
        send(server.port, small_mails(40, 40, 7, "start"), 2, lambda n: None, 60)
        sampler = Sampler(
            server.process.pid,
            sample_points(args.mails, args.every, args.warmup),
            common.Progress("flat", args.mails, args.json),
        )
        mails = small_mails(args.mails, args.distinct, args.seed, "flat")
        outcome = send(server.port, mails, args.concurrency, sampler, args.timeout)
    return summarise_flat(sampler.samples, args.warmup, outcome)


def growth_pct(start: float, end: float) -> float | None:
    return round(100 * (end - start) / start, 1) if start else None


def summarise_flat(samples: list[dict], warmup: int, outcome: dict) -> dict:
    sent = sum(outcome["codes"].values())
    after = [s for s in samples if s["mails"] >= min(warmup, sent)]
    warm, last = after[0], after[-1]
    kinds = {}
    for kind in ("listener", "parsers"):
        key = f"{kind}_mb"
        kinds[kind] = {
            "warm_mb": warm[key],
            "last_mb": last[key],
            "max_mb": max(s[key] for s in after),
            "growth_pct": growth_pct(warm[key], last[key]),
        }
    return {
        "mails": sent,
        "warm_at": warm["mails"],
        "last_at": last["mails"],
        "mails_per_s": round(sent / outcome["elapsed"], 1),
        "codes": codes(outcome),
        "errors": outcome["errors"][:5],
        **kinds,
        "samples": samples,
    }


def print_flat(r: dict) -> None:
    print(
        f"flat: {r['mails']} mails, {r['mails_per_s']} mails/s, replies {r['codes']}"
        + (f", errors {r['errors']}" if r["errors"] else "")
    )
    print(f"{'mails':>8}{'listener MB':>14}{'parsers MB':>13}{'parsers':>9}")
    for s in r["samples"]:
        print(f"{s['mails']:>8}{s['listener_mb']:>14}{s['parsers_mb']:>13}{s['parsers']:>9}")
    warm, last = f"warm-up ({r['warm_at']})", f"last ({r['last_at']})"
    print(f"{'RSS MB':<10}{warm:>16}{last:>14}{'max':>8}{'growth':>10}")
    for kind in ("listener", "parsers"):
        k = r[kind]
        growth = "n/a" if k["growth_pct"] is None else f"{k['growth_pct']:+.1f} %"
        cells = f"{k['warm_mb']:>16}{k['last_mb']:>14}{k['max_mb']:>8}{growth:>10}"
        print(f"{kind:<10}{cells}")


# -- big: the peak cost of one large mail ----------------------------------------------


def run_big(args: argparse.Namespace, env: dict[str, str], big: tuple[str, bytes]) -> dict:
    with fresh_listener("big", env) as server:
        pid = server.process.pid
        warmup = small_mails(args.big_warmup, args.distinct, args.seed, "bigwarm")
        progress = common.Progress("big warm-up", args.big_warmup, args.json)
        send(server.port, warmup, args.concurrency, progress, args.timeout)
        before = memory(pid, "VmHWM")
        outcome = send(server.port, [big], 1, lambda n: None, args.timeout)
        after = memory(pid, "VmHWM")
        rss_after = status_bytes(pid, "VmRSS") or 0
    return summarise_big(len(big[1]), before, after, rss_after, outcome)


def summarise_big(size: int, before: dict, after: dict, rss_after: int, outcome) -> dict:
    listener = after["listener"] - before["listener"]
    per_parser = {pid: n - before["parsers"].get(pid, 0) for pid, n in after["parsers"].items()}
    parser = max(per_parser.values(), default=0)
    return {
        "mail_mb": round(size / MB, 2),
        "mail_bytes": size,
        "codes": codes(outcome),
        "errors": outcome["errors"][:5],
        "reply_s": round(outcome["latencies"][0], 2) if outcome["latencies"] else None,
        "listener": {
            "hwm_before_mb": mb(before["listener"]),
            "hwm_after_mb": mb(after["listener"]),
            "growth_mb": mb(listener),
            "times_size": round(listener / size, 2),
            "rss_after_mb": mb(rss_after),
        },
        "parser": {
            "hwm_before_mb": [mb(n) for n in before["parsers"].values()],
            "hwm_after_mb": [mb(n) for n in after["parsers"].values()],
            "growth_mb": mb(parser),
            "times_size": round(parser / size, 2),
            "new_pids": sorted(set(after["parsers"]) - set(before["parsers"])),
        },
    }


def print_big(r: dict) -> None:
    print(
        f"big: one mail of {r['mail_mb']} MB ({r['mail_bytes']} bytes), replies {r['codes']}, "
        f"reply after {r['reply_s']} s" + (f", errors {r['errors']}" if r["errors"] else "")
    )
    print(f"{'VmHWM MB':<10}{'before':>22}{'after':>22}{'growth MB':>11}{'x size':>8}")
    for kind in ("listener", "parser"):
        k = r[kind]
        before, after = str(k["hwm_before_mb"]), str(k["hwm_after_mb"])
        print(f"{kind:<10}{before:>22}{after:>22}{k['growth_mb']:>11}{k['times_size']:>8}")
    print(f"listener VmRSS after the big mail: {r['listener']['rss_after_mb']} MB")
    if r["parser"]["new_pids"]:
        print(f"parser processes started meanwhile (counted from 0): {r['parser']['new_pids']}")


# -- command line ----------------------------------------------------------------------


def parse_args() -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mails", type=int, default=100_000, help="small mails of the flat run")
    parser.add_argument("--concurrency", type=int, default=8, help="SMTP connections")
    parser.add_argument("--every", type=int, help="sample VmRSS every N mails (default mails/20)")
    parser.add_argument(
        "--warmup", type=int, help="mails before the reference sample (default min(2000, mails/10))"
    )
    parser.add_argument("--big-mb", type=float, default=25, help="size of the big mail, in MB")
    parser.add_argument(
        "--big-warmup", type=int, default=300, help="small mails before the big one"
    )
    parser.add_argument(
        "--distinct", type=int, default=200, help="distinct small mails built (then cycled)"
    )
    parser.add_argument("--only", default=",".join(PARTS), help="flat, big or both")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--timeout", type=float, default=7200, help="seconds per run, at most")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the tables")
    args = parser.parse_args()
    args.every = args.every or max(1, args.mails // 20)
    args.warmup = min(2000, args.mails // 10) if args.warmup is None else args.warmup
    return parser, args


def main() -> None:
    parser, args = parse_args()
    common.exit_on_sigterm()
    parts = common.chosen_targets(parser, args.only, PARTS)
    big = big_mail(args.big_mb, args.seed)
    configured, limit = size_limit(len(big[1]))
    env = {"GUICHET_MAX_MESSAGE_SIZE": str(limit)}
    if not args.json:
        print(
            f"GUICHET_MAX_MESSAGE_SIZE={limit} (configured {configured}; big mail "
            f"{len(big[1])} bytes); concurrency {args.concurrency}",
            file=sys.stderr,
        )
    load_before = os.getloadavg()
    result: dict = {"max_message_size": limit, "concurrency": args.concurrency}
    if "flat" in parts:
        result["flat"] = run_flat(args, env)
    if "big" in parts:
        result["big"] = run_big(args, env, big)
    result["loadavg"] = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}
    report(result, args.json)


def report(result: dict, as_json: bool) -> None:
    if as_json:
        json.dump(result, sys.stdout, indent=2)
        print()
        return
    if "flat" in result:
        print_flat(result["flat"])
    if "big" in result:
        print_big(result["big"])
    load = result["loadavg"]
    before, after = (f"{load[when][0]:.2f}" for when in ("before", "after"))
    print(f"load average (1 min): {before} before, {after} after; {load['cpus']} CPUs")


if __name__ == "__main__":
    main()
