"""The worker's CPU per mail, in one process: what `create_ticket` costs, beside its floor.

End to end (e2e_throughput.py) every process shares two cores with the others, and on this
kind of machine the same commit varies by ±15 % from run to run: a saving of a millisecond
per mail does not show there.  This bench isolates the worker's own work and counts it as CPU
time of this process (`time.process_time`), so a busy neighbour slows it without inflating it.

What is measured, for each corpus (--corpora small,large; the mails of e2e_throughput.py):

  guichet    the mails stored as the edge stores them (analysed, SqlJournal on SQLite in a
             temporary folder, WAL and synchronous=FULL), then `create_ticket` run on each,
             one after the other, in this process: read the intake, file the ticket (threading,
             duplicates), claim, render and compose the acknowledgement, write it in the
             Maildir outbox, record it sent, send a page when one is due.  Redis (acknowledgement
             budgets, the rare message to another actor) is a redis-server of its own.
  baseline   the floor of the same durable work: per mail, one row inserted with the standard
             sqlite3 module in a database with the same settings, committed, and a reply of the
             same size written in a Maildir (tmp/, fsync, rename into new/).

Mails are taken in chunks of 50: the report gives the median and the lowest CPU per mail over
the chunks, and for guichet the SQL statements and commits per mail (counted on the
connection).  --rounds R alternates guichet and the baseline R times (each round on fresh
folders); the table keeps every round.  --profile N prints the N costliest functions of the
last guichet round (cProfile, cumulative), which is what to read when looking for the next
saving.

Usage: .venv/bin/python bench/filing_cost.py [--mails 400] [--corpora small,large]
       [--rounds 2] [--profile 40] [--json]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import common  # noqa: F401 - same folder; puts the repository on sys.path (tests.support)
from e2e_throughput import CORPORA, make_mails
from smtp_throughput import RECIPIENT

CHUNK = 50
WARMUP = 20


def _stored_intakes(settings, mails: list[tuple[str, bytes]]) -> list[str]:
    """Store each mail as the SMTP edge does (analysis in this process); their ids, in order."""
    from ingest.analysis import Analyser, Envelope
    from ingest.config_files import config_dir
    from ingest.directory import MemoryDirectory
    from ingest.intake import new_intake_id
    from workers.running.runtime import rules_for
    from workers.store.directory import read_csv
    from workers.store.engine import session_factory
    from workers.store.journal import SqlJournal

    accounts, _ = read_csv(config_dir() / "directory-demo.csv")
    analyser = Analyser(MemoryDirectory(accounts.values()), rules_for(settings))
    journal = SqlJournal(session_factory(settings.database))
    ids = []
    for sender, raw in mails:
        envelope = Envelope("smtp", sender, [RECIPIENT], datetime.now(UTC), "127.0.0.1")
        intake_id = new_intake_id()
        journal.record(intake_id, envelope, raw, analyser.mail(raw, envelope))
        ids.append(intake_id)
    return ids


class Statements:
    """SQL statements and commits on every connection of this process, while counting."""

    def __init__(self):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        self.statements = self.commits = 0
        self.on = False
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)

    def _statement(self, *_args) -> None:
        self.statements += self.on

    def _commit(self, *_args) -> None:
        self.commits += self.on


def run_guichet(home: Path, corpus: str, count: int, seed: int, counter: Statements, profile):
    from ingest.config_files import config_dir
    from ingest.settings import Settings
    from tests.support.services import start_redis
    from workers import actors
    from workers.broker import install, make_broker
    from workers.running.runtime import Runtime, set_runtime
    from workers.store.directory import read_csv, store_accounts
    from workers.store.engine import session_factory
    from workers.store.migrate import upgrade

    redis_server = start_redis(home / "redis")
    try:
        settings = Settings(
            home=home,
            database_url=f"sqlite:///{home / 'guichet.sqlite3'}",
            redis_url=redis_server.url,
            smtp_relay=None,  # the Maildir outbox in the home folder
            ack_rate_limit=1_000_000,  # the same demo senders write hundreds of mails
            ack_rate_domain_limit=1_000_000,
            ack_rate_global_limit=1_000_000,
        )
        upgrade(settings.database)
        accounts, _ = read_csv(config_dir() / "directory-demo.csv")
        with session_factory(settings.database).begin() as session:
            store_accounts(session, accounts.values())
        ids = _stored_intakes(settings, make_mails(count + WARMUP, corpus, seed, "filing"))
        runtime = Runtime(settings)
        set_runtime(runtime)
        install(make_broker(settings.broker_url, runtime.sessions), actors.ALL)
        for intake_id in ids[:WARMUP]:
            actors.create_ticket.fn(intake_id)
        counter.statements = counter.commits = 0
        counter.on = True
        if profile is not None:
            profile.enable()
        chunks = _chunks(ids[WARMUP:], actors.create_ticket.fn)
        if profile is not None:
            profile.disable()
        counter.on = False
        outbox = len(list((home / "outbox" / "new").iterdir()))
        set_runtime(None)
        return chunks, {
            "statements": counter.statements / count,
            "commits": counter.commits / count,
            "acks_written": outbox,
        }
    finally:
        redis_server.stop()


def run_baseline(home: Path, corpus: str, count: int, seed: int):
    mails = make_mails(count + WARMUP, corpus, seed, "filing")
    db = sqlite3.connect(home / "floor.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, sender TEXT, raw BLOB)")
    for sub in ("tmp", "new", "cur"):
        (home / "outbox" / sub).mkdir(parents=True)
    reply = b"x" * 3000  # about the size of an acknowledgement with its HTML part

    def floor(index: int) -> None:
        sender, raw = mails[index]
        db.execute("BEGIN")
        db.execute("INSERT INTO tickets (sender, raw) VALUES (?, ?)", (sender, raw))
        db.execute("COMMIT")
        name = f"{time.time_ns()}.{index}.bench"
        path = home / "outbox" / "tmp" / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, reply)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(path, home / "outbox" / "new" / name)

    for index in range(WARMUP):
        floor(index)
    chunks = _chunks(list(range(WARMUP, WARMUP + count)), floor)
    db.close()
    return chunks, {}


def _chunks(items: list, work) -> list[float]:
    """CPU ms per item of each chunk of CHUNK items."""
    done = []
    for start in range(0, len(items), CHUNK):
        part = items[start : start + CHUNK]
        before = time.process_time()
        for item in part:
            work(item)
        done.append((time.process_time() - before) * 1000 / len(part))
    return done


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mails", type=int, default=400, help="timed mails per corpus and round")
    parser.add_argument("--corpora", default="small,large", help="comma-separated: small,large")
    parser.add_argument("--rounds", type=int, default=2, help="guichet/baseline alternations")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", type=int, metavar="N", help="print the N costliest functions")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args()
    corpora = [c for c in args.corpora.split(",") if c]
    unknown = set(corpora) - set(CORPORA)
    if unknown:
        parser.error(f"unknown corpus {', '.join(sorted(unknown))}: choose among {CORPORA}")
    logging.disable(logging.WARNING)  # the worker's log lines (and "no page target") would flood
    counter = Statements()
    profile = cProfile.Profile() if args.profile else None
    rows = []
    for corpus in corpora:
        for round_no in range(1, args.rounds + 1):
            for target in ("guichet", "baseline"):
                print(f"  {target} {corpus} round {round_no}…", file=sys.stderr, flush=True)
                with tempfile.TemporaryDirectory(prefix="guichet-filing-") as tmp:
                    if target == "guichet":
                        chunks, extra = run_guichet(
                            Path(tmp), corpus, args.mails, args.seed, counter, profile
                        )
                    else:
                        chunks, extra = run_baseline(Path(tmp), corpus, args.mails, args.seed)
                rows.append(
                    {
                        "target": target,
                        "corpus": corpus,
                        "round": round_no,
                        "mails": args.mails,
                        "median_ms": statistics.median(chunks),
                        "lowest_ms": min(chunks),
                        **extra,
                    }
                )
    load = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"rows": rows, "load": load}, indent=2))
    else:
        print(
            f"{'target':9}{'corpus':8}{'round':>6}{'mails':>7}{'CPU ms/mail (median)':>22}"
            f"{'lowest':>8}{'statements':>12}{'commits':>9}{'acks':>6}"
        )
        for r in rows:
            extra = (
                f"{r['statements']:12.1f}{r['commits']:9.2f}{r['acks_written']:6}"
                if "statements" in r
                else ""
            )
            print(
                f"{r['target']:9}{r['corpus']:8}{r['round']:6}{r['mails']:7}"
                f"{r['median_ms']:22.2f}{r['lowest_ms']:8.2f}{extra}"
            )
        print(f"chunks of {CHUNK} mails; load average {load:.2f}, {os.cpu_count()} CPUs")
    if profile is not None:
        pstats.Stats(profile, stream=sys.stdout).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
