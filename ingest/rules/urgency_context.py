"""What surrounds an urgency word: whose words, which clause, negated, past, hypothetical, local."""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import cached_property, lru_cache

from ingest import config_files
from ingest.model import Content
from ingest.reading.normalize import fold
from ingest.reading.pasted_text import without_log_lines
from ingest.reading.phrase_scan import (
    blank,
    find_phrases,
    first_start_after,
    has_phrase,
    last_end_before,
    mask,
    phrase_regex,
)
from ingest.reading.text_split import split_text

_FORWARD_PREFIX = re.compile(r"^\s*(?:(?:re|aw)\s*:\s*)*(?:tr|fw|fwd|wg|rv|enc)\s*:", re.I)
# A sentence ends at . ! ? or at a blank line; single line breaks are only wrapping.
_SENTENCE = re.compile(r"(?:[^.!?\n]|\n(?![ \t]*\n))+[.!?]*")
_WORD = re.compile(r"[a-z0-9]+")
_NEGATION_STOPS = ".!?;,:\n()"


@lru_cache(maxsize=1)
def vocab() -> dict:
    return config_files.load("vocabulary")["urgency"]


def customer_text(content: Content) -> str:
    """Folded subject + new text; history, signature, disclaimer and pasted logs left out,
    false friends and hypothetical questions ("what do we do if it is down?") blanked."""
    body = without_log_lines(split_text(content.text).new_text)
    subject = content.subject or ""
    if _FORWARD_PREFIX.match(subject):
        subject = ""  # a forwarded subject is someone else's words
    if has_phrase(fold(body), vocab()["resolved"]):
        subject = ""  # a headline ("Encore une coupure") does not outweigh "it is back" below
    text = mask(fold(subject + "\n\n" + body), vocab()["false_positives"])
    return mask_hypotheticals(text)


def mask_hypotheticals(text: str) -> str:
    """Blank a question or procedure sentence from its "if"/"en cas de" onwards: it asks what
    to do should something happen, it does not say it happens ("who do we call if …?")."""
    v, spans = vocab(), []
    for sentence in _SENTENCE.finditer(text):
        plain = mask(sentence.group(), v["not_hypothetical"])
        markers = phrase_regex(v["hypothetical_markers"])
        found = markers.search(plain) if markers else None
        if found and (plain.rstrip().endswith("?") or has_phrase(plain, v["procedure_words"])):
            spans.append((sentence.start() + found.start(), sentence.end()))
    return blank(text, spans)


class _Scan:
    """What the rules look up in one customer text, found once: clause breaks, sentences,
    "resolved" wording, and the phrases of each clause and sentence."""

    def __init__(self, text: str):
        self.text, self.seen = text, {}

    @cached_property
    def breaks(self) -> list[re.Match]:
        return find_phrases(self.text, vocab()["clause_breaks"])

    @cached_property
    def solved(self) -> list[re.Match]:
        return find_phrases(self.text, vocab()["resolved"])

    @cached_property
    def sentences(self) -> list[re.Match]:
        return list(_SENTENCE.finditer(self.text))

    @cached_property
    def sentence_ends(self) -> list[int]:
        return [s.end() for s in self.sentences]

    def clause_span(self, start: int, end: int) -> tuple[int, int]:
        key = ("clause", start, end)
        if key not in self.seen:
            breaks = vocab()["clause_breaks"]
            cut = last_end_before(self.text, breaks, self.breaks, start)
            after = first_start_after(self.text, breaks, self.breaks, end)
            self.seen[key] = (cut or 0, len(self.text) if after is None else end + after)
        return self.seen[key]

    def sentence_span(self, start: int) -> tuple[int, int] | None:
        i = bisect_right(self.sentence_ends, start)
        return self.sentences[i].span() if i < len(self.sentences) else None

    def has(self, span: tuple[int, int] | None, key: str) -> bool:
        """has_phrase on text[span] (the whole text for None), asked once per span and list."""
        if (span, key) not in self.seen:
            part = self.text if span is None else self.text[span[0] : span[1]]
            self.seen[span, key] = has_phrase(part, vocab()[key])
        return self.seen[span, key]


@lru_cache(maxsize=8)
def _scan(text: str) -> _Scan:
    return _Scan(text)


def clause(text: str, start: int, end: int) -> str:
    """The clause around a match, cut at sentence ends and at "mais"/"but"."""
    cut, stop = _scan(text).clause_span(start, end)
    return text[cut:stop]


def clause_has(text: str, hit: re.Match, key: str) -> bool:
    """has_phrase(clause(text, *hit.span()), vocab()[key]), once per clause."""
    scan = _scan(text)
    return scan.has(scan.clause_span(*hit.span()), key)


def sentence(text: str, start: int) -> str:
    """The sentence holding position `start`."""
    span = _scan(text).sentence_span(start)
    return text[span[0] : span[1]] if span else ""


def _last_words(text: str, lo: int, hi: int, count: int) -> list[str]:
    """The last `count` words of text[lo:hi], last first, without reading all of it."""
    size = 64
    while True:
        start = max(lo, hi - size)
        found = _WORD.findall(text, start, hi)
        if start == lo or len(found) > count:  # the first one may be cut: never returned
            return found[::-1][:count]
        size *= 4


def negated(text: str, start: int) -> bool:
    """A negator just before the term, over bridge words ("pas vraiment urgent", "isn't down")."""
    v = vocab()
    lo = max(text.rfind(stop, 0, start) for stop in _NEGATION_STOPS) + 1
    for seen, word in enumerate(_last_words(text, lo, start, v["negation_window"] + 1)):
        if word in v["negators"]:
            return True
        if word not in v["negation_bridges"] or seen >= v["negation_window"]:
            return False
    return False


def over(text: str, hit: re.Match) -> bool:
    """The text says the problem is solved: in this clause, later on (the latest state wins
    unless this clause says it persists), or earlier and this clause does not say it is back."""
    scan = _scan(text)
    if not scan.solved:
        return False
    around = scan.clause_span(*hit.span())
    if scan.has(around, "resolved"):
        return True
    if scan.solved[-1].start() > hit.end():
        return not scan.has(around, "persistence")
    return not scan.has(around, "recurrence")


def local(text: str, hit: re.Match) -> bool:
    """The failure is confined to one workstation, phone or mail program ("les mails ne
    arrivent plus sur Outlook depuis le changement de PC"), or a sentence names the mail
    program of a message that says so elsewhere; unless everyone is hit."""
    scan = _scan(text)
    around = scan.sentence_span(hit.start()) or (0, 0)
    if scan.has(around, "wide_scope"):
        return False
    named = scan.has(around, "client_programs") and scan.has(None, "local_scope")
    return named or scan.has(around, "local_scope")


def terms(text: str, key: str, *, scoped: bool = False) -> list[tuple[re.Match, bool]]:
    """(match, negated) for each vocabulary term not about a solved (or, when `scoped`, a
    local) problem; an explicit "urgent" is never scoped away."""
    seen = _scan(text).seen
    if (key, scoped) not in seen:
        seen[key, scoped] = [
            (hit, negated(text, hit.start()))
            for hit in find_phrases(text, vocab()[key])
            if not over(text, hit) and not (scoped and local(text, hit))
        ]
    return list(seen[key, scoped])
