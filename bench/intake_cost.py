"""Per-message CPU cost of intake, side by side with bare parsers, plus `guichet explain` end to end.

What is measured, in this process, one message at a time, over every `tests/corpus/*.eml`
(--rounds passes; the first pass is a warm-up and is not counted), as CPU time of this
process (`time.process_time`), so that other work on the machine does not inflate it:

  stdlib parse      email.message_from_bytes(policy=default) + get_body() + get_content()
  flanker parse     flanker mime.from_string() + the decoded body of every text part
  guichet parse     ingest.reading.mime.parse() alone (flanker first, stdlib fallback, HTML to text)
  guichet rules     ingest.rules.triage.decide() alone on the parsed Content (identify + classify)
  guichet Analyser  Analyser.mail(): parse + identify + classify, as a parser process runs it

with a MemoryDirectory loaded from config/directory-demo.csv and the envelope of each
corpus label.  Then `guichet explain FILE --at ... --json` is run as a subprocess on 5 corpus
files (start-up, migrations on an empty SQLite, parse, rules, rendering) next to
`guichet --help` (interpreter + CLI import) as its baseline.

Usage: .venv/bin/python bench/intake_cost.py [--rounds 5] [--explain-runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from email import message_from_bytes, policy
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flanker import mime as flanker_mime  # noqa: E402

from ingest.analysis import Analyser, Envelope  # noqa: E402
from ingest.config_files import config_dir  # noqa: E402
from ingest.directory import MemoryDirectory  # noqa: E402
from ingest.reading import mime  # noqa: E402
from ingest.rules.triage import decide  # noqa: E402
from ingest.settings import Settings  # noqa: E402
from workers.running.runtime import rules_for  # noqa: E402
from workers.store.directory import read_csv  # noqa: E402

CORPUS = ROOT / "tests" / "corpus"
AT = datetime(2026, 11, 27, 21, 30, tzinfo=ZoneInfo("Europe/Paris"))
EXPLAIN_FILES = [
    "001-numero-nu-ligne-entete.eml",
    "028-html-seul-tableau.eml",
    "033-base64-outlook-civilite.eml",
    "151-piece-jointe-pdf.eml",
    "162-transfert-outlook-tr.eml",
]


def load_corpus() -> list[tuple[str, bytes, Envelope]]:
    cases = []
    for eml in sorted(CORPUS.glob("*.eml")):
        label_file = eml.with_suffix(".json")
        label = json.loads(label_file.read_text()) if label_file.exists() else {}
        envelope = Envelope(
            "smtp",
            label.get("envelope_sender", ""),
            label.get("recipients", ["support@dri.example"]),
            AT,
        )
        cases.append((eml.name, eml.read_bytes(), envelope))
    return cases


def stdlib_parse(raw: bytes, _envelope: Envelope) -> None:
    msg = message_from_bytes(raw, policy=policy.default)
    body = msg.get_body(("plain", "html"))
    if body is not None:
        body.get_content()


def flanker_parse(raw: bytes, _envelope: Envelope) -> None:
    msg = flanker_mime.from_string(raw)
    for part in msg.walk(with_self=True):
        if part.content_type.main == "text":
            part.body  # noqa: B018 -- flanker decodes lazily; this is the work


def measure(fn: Callable, cases, rounds: int) -> dict:
    times = []
    for round_ in range(rounds):
        for _name, raw, envelope in cases:
            started = time.process_time()
            fn(raw, envelope)
            if round_:  # the first pass warms caches and lazy imports
                times.append(time.process_time() - started)
    ordered = sorted(times)
    return {
        "calls": len(times),
        "mean_ms": statistics.fmean(times) * 1000,
        "p50_ms": ordered[len(ordered) // 2] * 1000,
        "p95_ms": ordered[int(len(ordered) * 0.95)] * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def time_command(command: list[str], runs: int, env: dict) -> dict:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
        times.append(time.perf_counter() - started)
    return {
        "runs": runs,
        "mean_ms": statistics.fmean(times) * 1000,
        "min_ms": min(times) * 1000,
        "max_ms": max(times) * 1000,
    }


def explain_rows(runs: int) -> list[dict]:
    # What the `guichet` console script runs, but importing this checkout (ROOT).
    guichet = [sys.executable, "-m", "workers.cli.main"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="guichet-bench-explain-") as home:
        env = {**os.environ, "GUICHET_HOME": home, "PYTHONPATH": str(ROOT)}
        env.pop("DATABASE_URL", None)
        row = time_command([*guichet, "--help"], runs, env)
        rows.append({"what": "guichet --help (baseline)", **row})
        for name in EXPLAIN_FILES:
            command = [*guichet, "explain", str(CORPUS / name), "--at", AT.isoformat(), "--json"]
            row = time_command(command, runs, env)
            rows.append({"what": f"guichet explain {name}", **row})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5, help="passes over the corpus (1 warm-up)")
    parser.add_argument(
        "--explain-runs", type=int, default=5, help="runs per explain file (0: skip)"
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args()
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (the first one is a warm-up)")

    cases = load_corpus()
    accounts, problems = read_csv(config_dir() / "directory-demo.csv")
    assert not problems, problems
    directory = MemoryDirectory(accounts.values())
    settings = Settings()
    analyser = Analyser(directory, rules_for(settings))
    rules = rules_for(settings)
    parsed = {
        raw: mime.parse(raw, envelope_sender=env.sender, recipients=env.recipients)
        for _, raw, env in cases
    }

    def guichet_rules(raw: bytes, envelope: Envelope) -> None:
        decide(
            parsed[raw],
            directory,
            received_at=envelope.received_at,
            urgent_addresses=rules.urgent_addresses,
            own_addresses=rules.own_addresses,
            trusted_authserv_ids=rules.trusted_authserv_ids,
            raw=raw,
        )

    candidates = {
        "stdlib parse (baseline)": stdlib_parse,
        "flanker parse (baseline)": flanker_parse,
        "guichet mime.parse": lambda raw, env: mime.parse(
            raw, envelope_sender=env.sender, recipients=env.recipients
        ),
        "guichet rules (decide)": guichet_rules,
        "guichet Analyser.mail": analyser.mail,
    }
    progress = not args.json
    per_message = []
    for what, fn in candidates.items():
        if progress:
            print(f"  {what} ...", file=sys.stderr)
        per_message.append({"what": what, **measure(fn, cases, args.rounds)})
    if progress and args.explain_runs:
        print("  guichet explain (subprocesses) ...", file=sys.stderr)
    explain = explain_rows(args.explain_runs) if args.explain_runs else []

    if args.json:
        json.dump(
            {"corpus_files": len(cases), "per_message": per_message, "explain": explain},
            sys.stdout,
            indent=2,
        )
        print()
        return
    print(f"CPU per message, {len(cases)} corpus files x {args.rounds - 1} timed rounds")
    print(f"{'':28}{'mean ms':>10}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for r in per_message:
        cells = "".join(f"{r[k]:>10.2f}" for k in ("mean_ms", "p50_ms", "p95_ms", "max_ms"))
        print(f"{r['what']:<28}{cells}")
    if not explain:
        return
    print(f"\nsubprocess, {args.explain_runs} runs each")
    print(f"{'':46}{'mean ms':>10}{'min ms':>10}{'max ms':>10}")
    for r in explain:
        cells = "".join(f"{r[k]:>10.0f}" for k in ("mean_ms", "min_ms", "max_ms"))
        print(f"{r['what']:<46}{cells}")


if __name__ == "__main__":
    main()
