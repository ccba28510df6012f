"""Instructions per request of the analysis (parse + identify + classify) and of the
acknowledgement (render + compose + bytes), counted by valgrind.

Why counts: on a shared virtual machine the pace of the same code swings by 2x within minutes,
so a change of 10-30 % in the parsers' CPU is lost in the spread of timed runs. `valgrind
--tool=callgrind` counts the instructions executed, which do not depend on the pace nor on the
other load (the same total twice on one machine, one core loaded or not).

What is counted, in a child process under callgrind, for each kind of request:

  webhook   Analyser.content() on the bench's 1.8 KB JSON support request (http_throughput.py),
            each with a distinct text, so that no cache helps
  small     Analyser.mail() on the e2e bench's 5-6 KB mails (e2e_throughput.py --corpora small)
  large     Analyser.mail() on its ~50 KB mails with attachments
  ack       the worker's acknowledgement: the shipped templates rendered (subject, text, HTML)
            for every scenario of the template matrix in turn (French and English, each with
            a ticket number of its own), composed, and made into the bytes the outbox writes

beside the baseline of the same requests: `json.loads` of the body (webhook), stdlib
`message_from_bytes(policy=default)` + `get_body()` + its text (mail), and for `ack` the same
rendered text and HTML made into a mail by the standard library's own API (`EmailMessage`,
`set_content` + `add_alternative`, `policy=default`) and its bytes. Each child makes the
same N2 requests and handles the first N1, then the first N2 (after a warm-up of 10): the
difference over N2 - N1 is the cost of one request, start-up and the making of the requests
left out. PYTHONHASHSEED is fixed, so two runs of the same code give the same count.

Usage: .venv/bin/python bench/instructions.py [--kinds webhook,small,large,ack]
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

KINDS = ("webhook", "small", "large", "ack")
TARGETS = ("guichet", "baseline")
WARM_UP = 10


def requests_of(kind: str, count: int) -> list:
    if kind == "ack":
        return _ack_contexts(count)
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


def _ack_contexts(count: int) -> list[tuple[dict, str]]:
    """(context, language) of the template matrix's scenarios in turn, each with a ticket of
    its own (so that no paragraph naming it is rendered from memory)."""
    import copy

    from workers.acks.scenarios import scenario_cases

    cases = scenario_cases(("fr", "en"))
    made = []
    for i in range(count):
        case = cases[i % len(cases)]
        context = copy.deepcopy(case.context)
        number = str(200000 + i)
        context["ticket"] = {**context["ticket"], "number": number, "tag": f"[DRI #{number}]"}
        made.append((context, case.language))
    return made


def _ack_handler(target: str):
    from workers.acks.mail import compose, wire_bytes
    from workers.acks.render import CompiledSet, load_sources, templates_dir

    templates = CompiledSet(load_sources(templates_dir()))
    at = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)

    def guichet(request) -> bytes:
        rendered = templates.render(*request)
        message = compose(
            rendered,
            sender="support@dri.example",
            recipient="anne.legoff@armor-logistique.fr",
            message_id="ack-7.100042@dri.example",
            in_reply_to="m1@client.example",
            references=[],
            language=request[1],
            sent_at=at,
        )
        return wire_bytes(message)

    if target == "guichet":
        return guichet
    from email.message import EmailMessage
    from email.utils import format_datetime

    def baseline(text) -> bytes:
        message = EmailMessage()
        message["From"] = "support@dri.example"
        message["To"] = "anne.legoff@armor-logistique.fr"
        message["Subject"] = text.subject
        message["Date"] = format_datetime(at)
        message["Message-ID"] = "<ack-7.100042@dri.example>"
        message.set_content(text.text)
        message.add_alternative(text.html, subtype="html")
        return message.as_bytes()

    # The baseline starts from the rendered text: rendered for every request made, before any
    # is handled, so that the render is in both counts and cancels out.
    baseline.prepare = lambda requests: [templates.render(*request) for request in requests]
    return baseline


def handler(kind: str, target: str):
    if kind == "ack":
        return _ack_handler(target)
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
    prepare = getattr(handle, "prepare", None)
    if prepare is not None:
        requests = prepare(requests)
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
