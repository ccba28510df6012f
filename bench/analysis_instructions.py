"""Instructions per request of the analysis (parse + identify + classify), counted by valgrind.

Why counts: on a shared virtual machine the pace of the same code swings by 2x within minutes,
so a change of 10-30 % in the parsers' CPU is lost in the spread of timed runs. `valgrind
--tool=callgrind` counts the instructions executed, which do not depend on the pace nor on the
other load (the same total twice on one machine, one core loaded or not).

What is counted, in a child process under callgrind, for each kind of request:

  webhook   Analyser.content() on the bench's 1.8 KB JSON support request (http_throughput.py),
            each with a distinct text, so that no cache helps
  small     Analyser.mail() on the e2e bench's 5-6 KB mails (e2e_throughput.py --corpora small)
  large     Analyser.mail() on its ~50 KB mails with attachments

beside the baseline of the same requests: `json.loads` of the body (webhook), stdlib
`message_from_bytes(policy=default)` + `get_body()` + its text (mail). Each child makes the
same N2 requests and handles the first N1, then the first N2 (after a warm-up of 10): the
difference over N2 - N1 is the cost of one request, start-up and the making of the requests
left out. PYTHONHASHSEED is fixed, so two runs of the same code give the same count.

Usage: .venv/bin/python bench/analysis_instructions.py [--kinds webhook,small,large]
       [--counts 20,120] [--json]          (~1-2 min per kind and target; needs valgrind)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import common  # same folder; also puts the repository on sys.path

KINDS = ("webhook", "small", "large")
TARGETS = ("guichet", "baseline")
WARM_UP = 10


def requests_of(kind: str, count: int) -> list[bytes]:
    if kind == "webhook":
        import http_throughput

        bodies = []
        for i in range(count):
            payload = json.loads(http_throughput.make_body(i))
            payload["body"] = payload["body"].replace("Bonjour", f"Bonjour {i}", 1)
            bodies.append(json.dumps(payload).encode())
        return bodies
    import e2e_throughput

    return [raw for _, raw in e2e_throughput.make_mails(count, kind, 1, "count")]


def handler(kind: str, target: str):
    if target == "baseline":
        if kind == "webhook":
            return json.loads
        from email import message_from_bytes, policy

        def parse(raw: bytes):
            body = message_from_bytes(raw, policy=policy.default).get_body(("plain", "html"))
            return body.get_content() if body is not None else None

        return parse

    from ingest.analysis import Analyser, Envelope, Rules
    from ingest.edges.webhook.mapping import content_from_json
    from ingest.rules.triage import warm_up
    from tests.unit.intake_fixtures import demo_directory

    warm_up()
    analyser = Analyser(demo_directory(), Rules(urgent_addresses=("urgent@dri.example",)))
    at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    if kind == "webhook":
        envelope = Envelope("webhook", "p@x", ["support@dri.example"], at, "::1", partner="p")
        return lambda raw: analyser.content(content_from_json(raw), envelope, raw, "key")
    envelope = Envelope("smtp", "x@example.org", ["support@dri.example"], at, "::1")
    return lambda raw: analyser.mail(raw, envelope)


def child(kind: str, target: str, handled: int, made: int) -> None:
    requests = requests_of(kind, WARM_UP + made)
    handle = handler(kind, target)
    for raw in requests[: WARM_UP + handled]:
        handle(raw)


def counted(kind: str, target: str, handled: int, made: int) -> int:
    """Instructions of one child process handling `handled` of `made` requests."""
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={tmp}/out",
            sys.executable,
            __file__,
            "--child",
            kind,
            target,
            str(handled),
            str(made),
        ]
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode != 0 or not found:
        sys.exit(f"the counted run failed ({kind}, {target}):\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kinds", default=",".join(KINDS), help="comma-separated subset")
    parser.add_argument("--counts", default="20,120", help="N1,N2: requests handled")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, target, handled, made = args.child
        child(kind, target, int(handled), int(made))
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed: apt-get install -y valgrind, then run this again")
    first, second = (int(n) for n in args.counts.split(","))
    if not 0 <= first < second:
        sys.exit("--counts wants N1,N2 with 0 <= N1 < N2, e.g. 20,120")
    rows = []
    for kind in args.kinds.split(","):
        if kind not in KINDS:
            sys.exit(f"unknown kind {kind!r}: one of {', '.join(KINDS)}")
        for target in TARGETS:
            print(f"  {kind} {target}: counting {first} and {second}…", file=sys.stderr)
            low, high = (counted(kind, target, n, second) for n in (first, second))
            rows.append(
                {"kind": kind, "target": target, "instructions": (high - low) / (second - first)}
            )
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    print(f"{'kind':8} {'target':9} {'M instructions per request':>27}")
    for row in rows:
        print(f"{row['kind']:8} {row['target']:9} {row['instructions'] / 1e6:27.2f}")
    print(f"(N1={first}, N2={second}; repository {Path(common.ROOT).name})")


if __name__ == "__main__":
    main()
