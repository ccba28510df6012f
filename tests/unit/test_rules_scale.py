"""Long and repetitive inputs go through the intake rules in bounded time.

A safety net against super-linear rules (a scan of the whole text per match, per line or per
number; a regex that backtracks on a long line), not a benchmark: the bound is generous and
what it catches is a rule turning quadratic, where 100 KB costs minutes instead of milliseconds.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from ingest.rules.triage import decide
from tests.unit.intake_fixtures import demo_directory, mail

RECEIVED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
BOUND = 2.0  # seconds per message; a linear rule set needs a small fraction of it
KB = 1024

OUTAGE = "Le MX ne répond plus depuis ce matin, le site est en panne, c'est résolu ? pas urgent. "
LOG_LINE = (
    "2025-03-03 10:12:{s:02d} mx1 postfix/smtp[{pid}]: 4F2A{pid}: to=<contact@client.fr>, "
    "relay=none, delay={pid}, status=deferred (connect to mx.client.fr[192.0.2.7]:25: "
    "Connection refused)\n"
)


def repeated(piece: str, size: int, sep: str = "") -> str:
    return sep.join([piece] * (size // len(piece + sep) + 1))


def pasted_log(lines: int) -> str:
    log = "".join(LOG_LINE.format(s=i % 60, pid=10000 + i) for i in range(lines))
    return f"Bonjour,\nle site est down depuis ce matin, urgent.\n\n{log}\nMerci\nJean Dupont"


CASES = {
    # the same outage sentence, "resolved" wording in each: clause and negation per match
    "outage-sentence-100k": repeated(OUTAGE, 100 * KB),
    "outage-sentence-per-line-100k": repeated(OUTAGE, 100 * KB, sep="\n"),
    "outage-without-punctuation-100k": repeated(
        "le serveur est en panne c'est resolu mais ", 100 * KB
    ),
    "pasted-log-5000-lines": pasted_log(5000),
    "single-line-200k": repeated(
        "le serveur srv-web01.client.fr est en panne urgent merci ", 200 * KB
    ),
    "single-word-200k": "a" * (200 * KB),
    "numbers-on-one-line-100k": repeated("ref 10000 ok", 100 * KB, sep=" "),
    "deep-quote-nesting": "\n".join(
        ">" * depth + f" Le {depth} mars, le serveur est en panne, urgent, client 20481"
        for depth in range(1, 2001)
    ),
    "closing-on-every-line": "Bonjour\n" + repeated("Merci,\nCordialement\n", 100 * KB),
    "rule-lines-then-text": repeated("-----\n", 100 * KB) + "fin",
    "hypothetical-questions-100k": repeated("Si le serveur tombe en panne, que faire ? ", 100 * KB),
    "header-block-lines": repeated("De : x\nObjet : y\n", 100 * KB),
    "wrapped-attributions": repeated("Le lun. 3 mars 2025 à 10:12, Jean <x@y> a\n", 100 * KB),
    "signature-name-lines": repeated("Jean Dupont | Directeur\n", 100 * KB),
    "long-name-candidate": "Bonjour\n" + repeated("Dupont;", 50 * KB),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_long_input_is_decided_in_bounded_time(name):
    content = mail(CASES[name], subject="Panne urgente", from_name="Jean Dupont")
    started = time.perf_counter()
    decision = decide(content, demo_directory(), received_at=RECEIVED)
    elapsed = time.perf_counter() - started
    assert decision.identity.status in ("verified", "unverified")
    assert elapsed < BOUND, f"{name}: {elapsed:.2f}s for {len(CASES[name]) // KB} KB"
