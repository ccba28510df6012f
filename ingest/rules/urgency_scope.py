"""Which part of a mail an urgency signal speaks for: the subject alone, or one of its points.

Run after the signal rules, in order, each a small named step that may set signals aside:

* a subject that alone says "URGENT" does not make a how-to question, or the reply to an old
  thread ("RE: URGENT …"), an incident: the words of the request itself must say so;
* "pas urgent" / "not urgent" waits only for the point it is said of: an outage in another
  point (another paragraph or list item, or after "mais" / "par contre" / "second") stays urgent.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from ingest import config_files
from ingest.model import Content, Finding
from ingest.reading.normalize import fold
from ingest.reading.phrase_scan import find_phrases, has_phrase

STRONG, WEAK, ROUTINE, UNHURRIED, AUTOMATIC = "strong", "weak", "routine", "unhurried", "automatic"
TEXT_RULES = ("severity-words", "outage-words")  # the signals read from the customer's words
_REPLY_SUBJECT = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?:re|aw|sv|antw|ref|rif)\s*(?:\[\d+\])?\s*:")
_POINT = re.compile(r"\n[ \t]*\n|\n[ \t]*(?:\d{1,2}[).]|[-*•]|[a-z][).])\s")


@dataclass(frozen=True)
class Signal:
    rule: str
    strength: str  # strong | weak | routine | unhurried | automatic
    value: str
    at: int = -1  # where in the customer text it was read (-1: not from the text)


@lru_cache(maxsize=1)
def vocab() -> dict:
    return config_files.load("vocabulary")["urgency"]


class SubjectOnly:
    name = "subject-only"
    description = "urgent words in the subject alone, over a how-to question or an old thread"

    def keep(self, content: Content, text: str, signals: list[Signal]) -> list[Signal]:
        end = text.find("\n\n")
        in_text = [s for s in signals if s.rule in TEXT_RULES and s.strength == STRONG]
        if not in_text or any(s.at > end for s in in_text):
            return signals  # the request's own words speak too
        body = text[end:]
        old_thread = bool(_REPLY_SUBJECT.match(fold(content.subject or "")))
        if not (old_thread or has_phrase(body, vocab()["how_to_questions"])):
            return signals
        return [s for s in signals if s not in in_text]


class SaidToWait:
    name = "said-to-wait"
    description = '"not urgent" holds for its own point; an outage in another point is urgent'

    def keep(self, content: Content, text: str, signals: list[Signal]) -> list[Signal]:
        waits = [s for s in signals if s.strength == UNHURRIED and s.at >= 0]
        strong = [s for s in signals if s.rule in TEXT_RULES and s.strength == STRONG]
        if not waits or not strong:
            return signals
        cuts = sorted(m.start() for m in _POINT.finditer(text))
        cuts += (m.start() for m in find_phrases(text, vocab()["contrast_markers"]))
        cuts.sort()
        end = text.find("\n\n")  # the subject headlines every point: never apart
        apart = [s for s in strong if s.at > end and all(_parted(cuts, w.at, s.at) for w in waits)]
        if not apart:
            return signals
        return [s for s in signals if s.strength != UNHURRIED or s.at < 0]


def _parted(cuts: list[int], a: int, b: int) -> bool:
    """A point boundary lies between positions a and b."""
    low, high = min(a, b), max(a, b)
    i = bisect_right(cuts, low)
    return i < len(cuts) and cuts[i] < high


STEPS = (SubjectOnly(), SaidToWait())


def scoped(content: Content, text: str, signals: list[Signal]) -> tuple[list[Signal], list]:
    """The signals each step keeps, and a finding for each step that set some aside."""
    findings = []
    for step in STEPS:
        kept = step.keep(content, text, signals)
        if len(kept) < len(signals):
            aside = ", ".join(s.value for s in signals if s not in kept)
            findings.append(Finding(step.name, "urgency", aside, step.description))
        signals = kept
    return signals, findings
