"""Snapshot of the intake decisions on every corpus and on generated variants.

`tests/fixtures/frozen-decisions.json` holds, per case, a summary of the decision and the
SHA-256 of its canonical JSON (every field the rules set, trail included). A change of the rules
that must not change any decision (a speed-up) is checked against it byte for byte; a change
that means to change decisions rewrites it, and the diff of the summaries shows which moved:

    .venv/bin/python -m tests.support.decisions --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from ingest.analysis import Analyser, Envelope, Rules
from ingest.directory import MemoryDirectory
from ingest.model import Content, Decision
from ingest.reading import mime
from ingest.rules.triage import decide
from tests.support.variants import corpus_variants, synthetic

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "frozen-decisions.json"
CORPORA = ("corpus", "corpus-blind", "corpus-holdout", "corpus-triage")
AT = datetime(2026, 11, 24, 10, 0, tzinfo=ZoneInfo("Europe/Paris"))
RULES = Rules(
    urgent_addresses=("urgent@dri.example",),
    own_addresses=("support@dri.example", "urgent@dri.example"),
)
SYNTHETIC = 400
# Fields of the trail that other checks own (sender authentication, and the sender trust that
# follows from it): not frozen here.
UNFROZEN_FIELDS = {"sender_authenticated", "sender_trust"}


@lru_cache(maxsize=8)
def directory_for(corpus: str) -> MemoryDirectory:
    from workers.store.directory import read_csv

    own = ROOT / "tests" / corpus / "directory.csv"
    path = own if own.exists() else ROOT / "config" / "directory-demo.csv"
    accounts, problems = read_csv(path)
    assert not problems, problems
    return MemoryDirectory(accounts.values())


def frozen_view(decision: Decision) -> dict:
    """What the rules decided, without the sender-authentication details."""
    data = decision.to_dict()
    data.pop("received_at", None)
    for key in ("auth", "sender_authenticated", "sender_declared", "sender_trust", "trust_why"):
        data["identity"].pop(key, None)
    data["trail"] = [f for f in data["trail"] if f["field"] not in UNFROZEN_FIELDS]
    return data


def summary(decision: Decision) -> str:
    i, u = decision.identity, decision.urgency
    return (
        f"{i.status} {i.client_number} {i.contact_name!r} | {u.level} requested={u.requested} "
        f"{','.join(u.signals)} | {decision.language} ack={decision.suppression.acknowledge}"
    )


def fingerprint(decision: Decision) -> dict:
    canonical = json.dumps(frozen_view(decision), sort_keys=True, ensure_ascii=False, default=str)
    return {
        "summary": summary(decision),
        "sha256": hashlib.sha256(canonical.encode()).hexdigest()[:16],
    }


def _labelled(corpus: str) -> Iterator[tuple[str, bytes, Envelope]]:
    for eml in sorted((ROOT / "tests" / corpus).glob("*.eml")):
        label_file = eml.with_suffix(".json")
        label = json.loads(label_file.read_text(encoding="utf-8")) if label_file.exists() else {}
        envelope = Envelope(
            "smtp", label.get("envelope_sender", ""), label.get("recipients") or [], AT
        )
        yield f"{corpus}/{eml.name}", eml.read_bytes(), envelope


def cases() -> Iterator[tuple[str, Decision]]:
    """(case name, decision): each corpus mail through the analyser, then its variants and the
    synthetic mails through the rules."""
    for corpus in CORPORA:
        directory = directory_for(corpus)
        analyser = Analyser(directory, RULES)
        for name, raw, envelope in _labelled(corpus):
            yield name, analyser.mail(raw, envelope).decision
            content = mime.parse(
                raw, envelope_sender=envelope.sender, recipients=envelope.recipients
            )
            for variant, changed in corpus_variants(name, content):
                yield variant, _decide(changed, directory)
    for index in range(SYNTHETIC):
        name, content = synthetic(index)
        yield name, _decide(content, directory_for("corpus"))


def _decide(content: Content, directory: MemoryDirectory) -> Decision:
    return decide(
        content,
        directory,
        received_at=AT,
        urgent_addresses=RULES.urgent_addresses,
        own_addresses=RULES.own_addresses,
    )


def snapshot() -> dict[str, dict]:
    return {name: fingerprint(decision) for name, decision in cases()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {FIXTURE.name}")
    args = parser.parse_args()
    current = snapshot()
    if args.write:
        FIXTURE.write_text(json.dumps(current, indent=1, ensure_ascii=False) + "\n")
        print(f"{len(current)} decisions written to {FIXTURE}", file=sys.stderr)
        return
    frozen = json.loads(FIXTURE.read_text())
    changed = [n for n in current if frozen.get(n) != current[n]]
    for name in changed:
        print(
            f"{name}\n  was {frozen.get(name, {}).get('summary')}\n  now {current[name]['summary']}"
        )
    print(f"{len(changed)} of {len(current)} decisions differ", file=sys.stderr)


if __name__ == "__main__":
    main()
