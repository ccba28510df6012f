"""Urgent under backlog: how long an urgent request waits for its acknowledgement while
N routine requests are queued ahead of it.

What is done, with `guichet run --no-web` in a temporary home (as bench/e2e_throughput.py
starts it: SQLite, embedded Redis, Maildir outbox, the demo directory):

  1. N routine requests (--backlog, 20,000 by default) are put in the journal and on the
     routine queue exactly as the SMTP edge leaves them (an intake row with its decision,
     then `create_ticket` enqueued): 5-6 KB customer mails of the e2e bench, analysed once
     per distinct mail by the real Analyser, each copy with its own Message-ID and dedup key.
     Written straight into the store in batches, so that the backlog is there in seconds
     (sending 20,000 mails over SMTP would let the workers eat it while it is being built).
  2. Then U urgent mails (--urgent) are sent over SMTP, one every --gap seconds, to
     urgent@dri.example from a declared contact of a 24/7 account (urgent and eligible).
     For each, the time from the `250` reply to its acknowledgement being sent (the ack row's
     sent_at, written once the mail is in the outbox) is taken; p50/p99/max are printed, with
     the first waits in the order sent (a slow first one per worker process: something loaded
     late), and how many routine requests were still queued when the first urgent one was
     sent.

  baseline   the same urgent mails with no backlog (--backlog 0), in the same invocation.

Usage: .venv/bin/python bench/urgent_backlog.py [--backlog 20000] [--urgent 20] [--gap 0.5]
       [--only backlog,baseline] [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import smtplib
import sqlite3
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import common  # same folder; also puts the repository on sys.path
import e2e_throughput as e2e

TARGETS = ("backlog", "baseline")
URGENT_SENDER = ("Jean-François Hervé", "jf.herve@armor-logistique.fr", "20481")
BATCH = 1000


def urgent_mail(i: int, run_tag: str) -> bytes:
    name, address, number = URGENT_SENDER
    msg = EmailMessage()
    msg["From"] = f"{name} <{address}>"
    msg["To"] = "urgent@dri.example"
    msg["Subject"] = f"URGENT : serveur srv-db{i:02d} hors service"
    msg["Message-ID"] = f"<urgent-{run_tag}-{i}@armor-logistique.fr>"
    msg["Date"] = "Thu, 26 Nov 2026 10:00:00 +0100"
    msg.set_content(
        f"Bonjour,\n\nNotre serveur dédié srv-db{i:02d} est totalement inaccessible depuis "
        f"10 minutes, la production est arrêtée. C'est urgent.\n\nClient {number}.\n\n"
        f"Cordialement,\n{name}\n"
    )
    return msg.as_bytes()


# -- the backlog -----------------------------------------------------------------------


class OneSession:
    """A stand-in for a sessionmaker whose `begin()` hands out one open session, uncommitted."""

    def __init__(self, session):
        self.session = session

    def begin(self):
        return contextlib.nullcontext(self.session)


def fill_backlog(server: e2e.Guichet, count: int, seed: int, progress) -> None:
    """`count` routine intakes in the journal, each then enqueued on the routine queue."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import sessionmaker

    from ingest.analysis import Analyser, Envelope, dedup_key, mail_body
    from ingest.config_files import config_dir
    from ingest.directory import MemoryDirectory
    from ingest.intake import new_intake_id
    from ingest.queueing import ROUTINE_QUEUE, enqueue_intake, redis_broker
    from ingest.settings import Settings
    from workers.running.runtime import rules_for
    from workers.store.directory import read_csv
    from workers.store.journal import SqlJournal

    accounts, _ = read_csv(config_dir() / "directory-demo.csv")
    analyser = Analyser(MemoryDirectory(accounts.values()), rules_for(Settings()))
    templates = []
    for sender, raw in e2e.make_mails(30, "small", seed, "backlog"):
        envelope = Envelope("smtp", sender, ["support@dri.example"], datetime.now(UTC), "127.0.0.1")
        analysis = analyser.mail(raw, envelope)
        if analysis.decision.urgency.level == "routine":
            templates.append((envelope, raw, analysis))
    # Seeding, not what is measured: a bench-only engine without fsync per commit, one
    # transaction per BATCH intakes (SqlJournal handed one session for the whole batch), and
    # the enqueues from 8 threads (Redis then fsyncs its append-only file once for several).
    engine = create_engine(f"sqlite:///{server.db}", connect_args={"timeout": 60})
    event.listen(engine, "connect", lambda c, _: c.execute("PRAGMA synchronous=OFF"))
    broker = redis_broker(f"unix://{server.home / 'redis' / 'redis.sock'}")
    rng = random.Random(seed)
    with ThreadPoolExecutor(8) as pool:
        for start in range(0, count, BATCH):
            ids = []
            with sessionmaker(engine).begin() as session:
                journal = SqlJournal(OneSession(session))
                for n in range(start, min(count, start + BATCH)):
                    envelope, raw, analysis = rng.choice(templates)
                    message_id = f"backlog-{n}@bench.example"
                    raw = raw.replace(b"Message-ID: <", f"Message-ID: <{n}.".encode(), 1)
                    key = dedup_key(envelope.sender, message_id, mail_body(raw), str(n).encode())
                    intake_id = new_intake_id()
                    envelope = replace(envelope, received_at=datetime.now(UTC))
                    analysis = replace(analysis, dedup_key=key, message_id=message_id)
                    journal.record(intake_id, envelope, raw, analysis)
                    ids.append(intake_id)
            list(pool.map(lambda i: enqueue_intake(broker, i, ROUTINE_QUEUE), ids))
            progress(len(ids))
    broker.close()
    engine.dispose()


def queued(server: e2e.Guichet, queue: str) -> int:
    import redis

    client = redis.Redis(unix_socket_path=str(server.home / "redis" / "redis.sock"))
    try:
        return client.llen(f"dramatiq:{queue}")
    finally:
        client.close()


# -- the urgent mails ------------------------------------------------------------------


def send_urgent(server: e2e.Guichet, count: int, gap: float, run_tag: str) -> list:
    """(intake id, time of the 250) of each urgent mail."""
    sent = []
    with smtplib.SMTP("127.0.0.1", server.port, timeout=120) as client:
        client.ehlo("bench.example")
        for i in range(count):
            client.mail(URGENT_SENDER[1])
            client.rcpt("urgent@dri.example")
            code, reply = client.data(urgent_mail(i, run_tag))
            accepted_at = time.time()
            assert code == 250, (code, reply)
            sent.append((reply.decode().rsplit(" ", 1)[-1], accepted_at))
            time.sleep(gap)
    return sent


def wait_acks(server: e2e.Guichet, sent: list, timeout: float) -> list[float]:
    """Seconds from each urgent mail's 250 to its acknowledgement's sent_at, in the order the
    mails were sent (a slow first one per worker process says something was loaded late)."""
    deadline = time.monotonic() + timeout
    wanted = {intake_id: at for intake_id, at in sent}
    while True:
        with sqlite3.connect(f"file:{server.db}?mode=ro", uri=True, timeout=30) as conn:
            marks = ",".join("?" * len(wanted))
            rows = conn.execute(
                f"SELECT intake_id, sent_at FROM acks WHERE status = 'sent' "  # noqa: S608
                f"AND intake_id IN ({marks})",
                list(wanted),
            ).fetchall()
        conn.close()
        if len(rows) == len(wanted):
            at = dict(rows)
            return [_epoch(at[intake_id]) - accepted for intake_id, accepted in sent]
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(rows)} of {len(wanted)} urgent acks after {timeout} s")
        time.sleep(0.05)


def _epoch(stored: str) -> float:
    value = datetime.fromisoformat(stored)
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()


def measure(target: str, args) -> dict:
    backlog = args.backlog if target == "backlog" else 0
    run_tag = f"{os.getpid()}{time.monotonic_ns() % 100000}"
    with tempfile.TemporaryDirectory(prefix=f"urgent-{target}-") as tmp:
        server = e2e.Guichet(Path(tmp), args.workers).start()
        try:
            if backlog:
                progress = common.Progress("routine backlog queued", backlog, args.json)
                fill_backlog(server, backlog, args.seed, progress)
            still_queued = queued(server, "tickets.routine")
            sent = send_urgent(server, args.urgent, args.gap, run_tag)
            waits = wait_acks(server, sent, args.timeout)
            left = queued(server, "tickets.routine")
        finally:
            server.stop()
    return {
        "target": target,
        "backlog": backlog,
        "routine_queued_at_first_urgent": still_queued,
        "routine_queued_at_end": left,
        "urgent": len(waits),
        "p50_s": round(common.percentile(waits, 50), 3),
        "p99_s": round(common.percentile(waits, 99), 3),
        "max_s": round(max(waits), 3),
        "waits_in_order_s": [round(w, 3) for w in waits],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backlog", type=int, default=20000, help="routine requests queued")
    parser.add_argument("--urgent", type=int, default=20, help="urgent mails sent after them")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between urgent mails")
    parser.add_argument("--only", default=",".join(TARGETS), help="backlog, baseline or both")
    parser.add_argument("--workers", type=int, help="GUICHET_WORKER_PROCESSES for guichet")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for acks")
    parser.add_argument("--json", action="store_true", help="print JSON instead of the table")
    args = parser.parse_args()
    common.exit_on_sigterm()
    targets = common.chosen_targets(parser, args.only, TARGETS)
    load_before = os.getloadavg()
    rows = [measure(t, args) for t in targets]
    load = {"before": load_before, "after": os.getloadavg(), "cpus": os.cpu_count()}
    if args.json:
        json.dump({"loadavg": load, "results": rows}, sys.stdout, indent=2)
        print()
        return
    print(
        f"{'target':<10}{'backlog':>9}{'queued':>9}{'urgent':>8}{'p50 s':>9}{'p99 s':>9}{'max s':>9}"
    )
    for r in rows:
        print(
            f"{r['target']:<10}{r['backlog']:>9}{r['routine_queued_at_first_urgent']:>9}"
            f"{r['urgent']:>8}{r['p50_s']:>9}{r['p99_s']:>9}{r['max_s']:>9}"
        )
    for r in rows:
        first = ", ".join(f"{w:.3f}" for w in r["waits_in_order_s"][:5])
        print(f"{r['target']}: the first waits in the order sent, s: {first}")
    print(
        f"queued = routine requests still on the queue when the first urgent mail was sent; "
        f"load average {load['before'][0]:.2f} before, {load['after'][0]:.2f} after, "
        f"{load['cpus']} CPUs"
    )


if __name__ == "__main__":
    main()
