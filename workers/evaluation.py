"""`guichet eval`: run intake on a labelled corpus and score each decision against its label."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import click

from ingest.analysis import Analyser, Envelope

FIELDS = (
    "client_number",
    "identity",
    "contact_name",
    "urgency",
    "urgent_requested",
    "language",
    "acknowledge",
)


def observed(analysis) -> dict:
    d = analysis.decision
    return {
        "client_number": d.identity.client_number,
        "identity": d.identity.status,
        "contact_name": d.identity.contact_name if d.identity.status == "verified" else None,
        "urgency": d.urgency.level,
        "urgent_requested": d.urgency.requested,
        "language": d.language,
        "acknowledge": d.suppression.acknowledge,
    }


def expected(label: dict) -> dict:
    identity = label.get("identity", {})
    return {
        "client_number": identity.get("client_number"),
        "identity": identity.get("status"),
        "contact_name": identity.get("contact_name")
        if identity.get("status") == "verified"
        else None,
        "urgency": label.get("urgency"),
        "urgent_requested": label.get("urgent_requested"),
        "language": label.get("language"),
        "acknowledge": label.get("acknowledge"),
    }


class LabelError(ValueError):
    """A label file of the corpus cannot be read; the message names it."""


def cases(corpus: Path) -> list[tuple[Path, dict]]:
    pairs = []
    for eml in sorted(corpus.glob("*.eml")):
        label = eml.with_suffix(".json")
        if label.exists():
            try:
                pairs.append((eml, json.loads(label.read_text(encoding="utf-8"))))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise LabelError(f"{label}: not a UTF-8 JSON label ({exc})") from None
    return pairs


def evaluate(analyser: Analyser, corpus: Path, at: datetime, progress: bool = True) -> dict:
    totals = {f: [0, 0] for f in FIELDS}
    misses, timings = [], []
    items = cases(corpus)
    with (
        click.progressbar(items, label="evaluating", file=click.get_text_stream("stderr"))
        if progress
        else _plain(items) as bar
    ):
        for eml, label in bar:
            raw = eml.read_bytes()
            envelope = Envelope(
                "smtp", label.get("envelope_sender", ""), label.get("recipients") or [], at
            )
            start = time.perf_counter()
            got = observed(analyser.mail(raw, envelope))
            timings.append((time.perf_counter() - start) * 1000)
            want = expected(label)
            for field in FIELDS:
                if want[field] is None and field not in ("client_number", "contact_name"):
                    continue  # unlabelled
                totals[field][1] += 1
                if got[field] == want[field]:
                    totals[field][0] += 1
                else:
                    misses.append(
                        {
                            "case": eml.name,
                            "field": field,
                            "expected": want[field],
                            "got": got[field],
                        }
                    )
    return {
        "cases": len(items),
        "accuracy": {
            f: {"correct": c, "total": t, "ratio": (c / t if t else 1.0)}
            for f, (c, t) in totals.items()
        },
        "misses": misses,
        "ms_per_message": sum(timings) / len(timings) if timings else 0.0,
        "ms_max": max(timings, default=0.0),
    }


class _plain:
    def __init__(self, items):
        self.items = items

    def __enter__(self):
        return self.items

    def __exit__(self, *exc):
        return False
