"""The intake rules take time linear in their input, and compile no regex per mail.

Each case is an input an outsider can send to make a super-linear rule slow: a line of thousands
of words, numbers, names or signature markers, deep quotes, pasted logs. Deciding it at size 8n
costs at most 12 times deciding it at size n; a quadratic rule costs 64 times. Measured as CPU
time of this process in rounds of "n, then 8n" back to back, keeping the smallest ratio: a busy
neighbour (on two vCPUs often the other half of the same core) slows what runs beside it, and
only a round where both sides ran alike says something about the rule.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

import pytest

from ingest.reading import normalize, pasted_text, text_split
from ingest.reading.html_text import html_to_text
from ingest.rules import number_decoys, number_spots, urgency_context
from ingest.rules.triage import decide
from tests.unit.intake_fixtures import demo_directory, mail

RECEIVED = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
KB = 1024
SIZE = 4 * KB
MAX_RATIO = 12


def repeated(piece: str, size: int, sep: str = "") -> str:
    return sep.join([piece] * (size // len(piece + sep) + 1))[:size]


def numbers(size: int, sep: str) -> str:
    return sep.join(f"{10000 + i % 89999:05d}" for i in range(size // 6))


LOG_LINE = (
    "2025-03-03 10:12:{s:02d} mx1 postfix/smtp[{pid}]: 4F2A{pid}: to=<contact@client.fr>, "
    "relay=none, delay={pid}, status=deferred (connect to mx.client.fr[192.0.2.7]:25)\n"
)

CASES = {
    "one line of urgent outage words and a client number": lambda n: repeated(
        "connection refused urgent bloquant panne serveur down 20481 ", n
    ),
    "one CSV line of bare 5-digit numbers": lambda n: numbers(n, ","),
    "one line of space-separated 5-digit numbers": lambda n: numbers(n, " "),
    "a 5-digit number on every line": lambda n: numbers(n, "\n"),
    "spaced numbers on one line": lambda n: repeated("tel 12 345 ", n),
    "postcodes and towns on one line": lambda n: repeated("29200 BREST rue ", n),
    "entities and numbers on one line": lambda n: repeated("a&amp;b 12345 ", n),
    "keywords before one number": lambda n: repeated("client compte n° ", n) + " 20481",
    "names on one line": lambda n: repeated("Jean Dupont ", n),
    "a name on every line": lambda n: repeated("Jean-François Hervé\n", n),
    "signature markers on one line": lambda n: repeated("Cordialement -- Merci ", n),
    "a closing on every line": lambda n: repeated("Merci,\nCordialement\n", n),
    "reply attributions never closed": lambda n: repeated("Le lun. 3 mars a ", n) + " a ecrit :",
    "deep quotes": lambda n: "\n".join(
        ">" * (i % 300) + " le serveur est en panne, urgent, client 20481" for i in range(n // 60)
    ),
    "hypothetical questions": lambda n: repeated("Si le serveur tombe en panne, que faire ? ", n),
    "outage then resolved, clause after clause": lambda n: repeated(
        "le site est en panne mais c'est resolu ", n
    ),
    "pasted log lines": lambda n: "".join(
        LOG_LINE.format(s=i % 60, pid=10000 + i) for i in range(n // 150)
    ),
    "header block lines": lambda n: repeated("De : x\nObjet : y\n", n),
    "one long word then a number": lambda n: "a" * n + " 12345",
}


# What the rules remember of the texts they saw (not of the vocabulary): forgotten before each
# run, so that each run costs what a new mail costs.
TEXT_CACHES = (
    normalize._fold_short,
    normalize._fold_long,
    pasted_text._is_log_line,
    text_split.split_text,
    number_decoys._log_line_at,
    number_spots._breaks,
    urgency_context._scan,
)


def cost(text: str, runs: int) -> float:
    content = mail(text, subject="Panne urgente 20481", from_name="Jean Dupont")
    best = float("inf")
    for _ in range(runs):
        for cache in TEXT_CACHES:
            cache.cache_clear()
        started = time.process_time()
        decide(content, demo_directory(), received_at=RECEIVED)
        best = min(best, time.process_time() - started)
    return best


@pytest.mark.parametrize("case", sorted(CASES))
def test_deciding_eight_times_the_input_costs_at_most_twelve_times_as_much(case):
    make = CASES[case]
    cost(make(SIZE), 1)  # warm: vocabulary compiled, caches filled
    small, large = make(SIZE), make(8 * SIZE)
    assert_scales(case, lambda: cost(small, 2), lambda: cost(large, 1))


def assert_scales(case: str, small_cost, large_cost, rounds: int = 3) -> None:
    """The smallest large/small ratio over `rounds` back-to-back pairs is at most MAX_RATIO."""
    ratios = []
    for _ in range(rounds):
        small, large = small_cost(), large_cost()
        ratios.append((large / max(small, 0.002), small, large))
        if ratios[-1][0] <= MAX_RATIO:
            return
    ratio, small, large = min(ratios)
    assert ratio <= MAX_RATIO, f"{case}: {small:.3f}s -> {large:.3f}s ({ratio:.1f}x)"


def test_no_regex_is_compiled_while_deciding_mail_once_the_rules_are_warm(monkeypatch):
    texts = [make(2 * KB) for make in CASES.values()]
    for text in texts:
        cost(text, 1)
    compiled = []
    real = re._compiler.compile
    monkeypatch.setattr(re._compiler, "compile", lambda *a: compiled.append(a) or real(*a))
    for text in texts:
        cost(text.replace("2", "3").upper(), 1)
    assert compiled == []
    re.compile(f"a pattern never seen before {id(compiled)}")
    assert len(compiled) == 1  # the counter does see a compilation


HTML = {
    "signature tables": lambda n: (
        "<table>"
        + "<tr><td>Ma&iuml;wenn</td><td>Caradec&#8217;s</td></tr>" * (n // 50)
        + "</table>"
    ),
    "nested blocks": lambda n: "<div>" * (n // 10) + "x" + "</div>" * (n // 10),
    "unclosed inline tags": lambda n: "<b><i>" * (n // 6),
    "links": lambda n: "".join(f'<a href="http://e.x/{i}">l{i}</a> ' for i in range(n // 30)),
}


@pytest.mark.parametrize("case", sorted(HTML))
def test_turning_eight_times_the_html_into_text_costs_at_most_twelve_times_as_much(case):
    def html_cost(markup: str, runs: int) -> float:
        best = float("inf")
        for _ in range(runs):
            started = time.process_time()
            html_to_text(markup)
            best = min(best, time.process_time() - started)
        return best

    small, large = HTML[case](2 * SIZE), HTML[case](16 * SIZE)
    assert_scales(case, lambda: html_cost(small, 2), lambda: html_cost(large, 1))
