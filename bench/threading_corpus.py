"""Threading on a generated corpus through the real stack: replies threaded, colleagues, false merges.

The corpus (tests/support/corpus_*.py, seeded) holds, per 2,000 mails: ~1,700 new requests
(plain, HTML only, text + HTML, with an attachment; eight charsets), 60 replies sent right
behind their parent, 30 copies, 35 malformed mails, 10 bounces, 15 out-of-office mails to
support; then, once the acknowledgements are out, replies to them: the requester (In-Reply-To,
or only the subject tag), colleagues at the same organisation, declared contacts writing from
another domain, colleagues' out-of-office replies, reference chains whose oldest entry is
another customer's mail, and strangers (another organisation, the same public mailbox
provider, or a quoted tag) who must get their own ticket.

Everything runs in this process as in tests: the SMTP listener, 8 worker threads, a temporary
redis-server, SQLite (default) or a throw-away PostgreSQL database, an SMTP sink as the relay.

Usage: .venv/bin/python bench/threading_corpus.py [--mails 2000] [--database sqlite|postgresql] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.corpus_run import run  # noqa: E402
from tests.support.services import PostgresDatabases, SmtpSink, start_redis  # noqa: E402
from tests.support.stack import Stack, busy_settings  # noqa: E402


def ratio(done: int, total: int) -> str:
    return f"{done}/{total} ({done / total:.1%})" if total else "0/0"


def report(result: dict) -> None:
    print(f"\nmails sent: {result['mails']} in {result['seconds']} s; not 250: {result['not_250']}")
    print(f"load average: {result['load_before']} -> {result['load_after']}")
    print(f"{'replies threaded':34s} {ratio(result['replies_threaded'], result['replies'])}")
    for kind, (done, total) in result["threaded_by_kind"].items():
        print(f"  {kind:32s} {ratio(done, total)}")
    print(f"{'colleagues (incl. declared, OOO)':34s} {ratio(*result['colleague_replies'])}")
    print(
        f"{'strangers merged (false merges)':34s} {result['false_merges']} of {result['stranger_replies']}"
    )
    dup = result["kinds"].get("duplicate", 0)
    print(
        f"{'copies filed as duplicates':34s} {ratio(result['duplicates_filed_as_duplicates'], dup)}"
    )
    print(f"{'automatic mail acknowledged':34s} {result['automatic_acknowledged']}")
    print(f"{'malformed mail ticketed':34s} {ratio(*result['malformed_ticketed'])}")
    print(f"{'intakes left unfiled':34s} {result['intakes_not_filed']}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--concurrency", type=int, default=8, help="SMTP connections")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        redis = start_redis(work / "redis")
        databases = PostgresDatabases() if args.database == "postgresql" else None
        url = databases.create() if databases else f"sqlite:///{work / 'guichet.sqlite3'}"
        try:
            with SmtpSink() as sink:
                settings = busy_settings(work / "home", url, redis.url, sink.address)
                stack = Stack(settings).start()
                try:
                    load_before = os.getloadavg()[0]
                    say = (lambda _: None) if args.json else (lambda text: print(text, flush=True))
                    result = run(stack, sink, args.mails, seed=args.seed, concurrency=args.concurrency, work=work, progress=say)  # fmt: skip
                    result.update(
                        load_before=round(load_before, 1), load_after=round(os.getloadavg()[0], 1)
                    )
                finally:
                    stack.stop()
        finally:
            redis.stop()
            if databases:
                databases.drop_all()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        report(result)
    threaded = result["replies_threaded"] / max(1, result["replies"])
    return 0 if threaded >= 0.99 and result["false_merges"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
