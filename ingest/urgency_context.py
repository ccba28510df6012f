"""What surrounds an urgency word: whose words, which clause, negated, past, hypothetical, local."""

from __future__ import annotations

import re
from functools import lru_cache

from ingest import config_files
from ingest.model import Content
from ingest.normalize import find_phrases, fold, has_phrase, mask, phrase_regex
from ingest.pasted_text import without_log_lines
from ingest.text_split import split_text

_FORWARD_PREFIX = re.compile(r"^\s*(?:(?:re|aw)\s*:\s*)*(?:tr|fw|fwd|wg|rv|enc)\s*:", re.I)
# A sentence ends at . ! ? or at a blank line; single line breaks are only wrapping.
_SENTENCE = re.compile(r"(?:[^.!?\n]|\n(?![ \t]*\n))+[.!?]*")


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
    v = vocab()
    markers, procedure = phrase_regex(v["hypothetical_markers"]), v["procedure_words"]
    for sentence in _SENTENCE.finditer(text):
        plain = mask(sentence.group(), v["not_hypothetical"])
        found = markers.search(plain) if markers else None
        if found and (plain.rstrip().endswith("?") or has_phrase(plain, procedure)):
            start, end = sentence.start() + found.start(), sentence.end()
            text = text[:start] + " " * (end - start) + text[end:]
    return text


def clause(text: str, start: int, end: int) -> str:
    """The clause around a match, cut at sentence ends and at "mais"/"but"."""
    cuts = [m.end() for m in find_phrases(text[:start], vocab()["clause_breaks"])]
    after = find_phrases(text[end:], vocab()["clause_breaks"])
    return text[cuts[-1] if cuts else 0 : end + after[0].start() if after else len(text)]


def sentence(text: str, start: int) -> str:
    """The sentence holding position `start`."""
    return next((s.group() for s in _SENTENCE.finditer(text) if s.end() > start), "")


def negated(text: str, start: int) -> bool:
    """A negator just before the term, over bridge words ("pas vraiment urgent", "isn't down")."""
    v = vocab()
    before = re.split(r"[.!?;,:\n()]", text[:start])[-1]
    for seen, word in enumerate(reversed(re.findall(r"[a-z0-9]+", before))):
        if word in v["negators"]:
            return True
        if word not in v["negation_bridges"] or seen >= v["negation_window"]:
            return False
    return False


def over(text: str, hit: re.Match) -> bool:
    """The text says the problem is solved: in this clause, later on (the latest state wins
    unless this clause says it persists), or earlier and this clause does not say it is back."""
    v = vocab()
    solved = find_phrases(text, v["resolved"])
    if not solved:
        return False
    around = clause(text, *hit.span())
    if has_phrase(around, v["resolved"]):
        return True
    if solved[-1].start() > hit.end():
        return not has_phrase(around, v["persistence"])
    return not has_phrase(around, v["recurrence"])


def local(text: str, hit: re.Match) -> bool:
    """The failure is confined to one workstation, phone or mail program ("les mails ne
    arrivent plus sur Outlook depuis le changement de PC"), or a sentence names the mail
    program of a message that says so elsewhere; unless everyone is hit."""
    v = vocab()
    around = sentence(text, hit.start())
    if has_phrase(around, v["wide_scope"]):
        return False
    named = has_phrase(around, v["client_programs"]) and has_phrase(text, v["local_scope"])
    return named or has_phrase(around, v["local_scope"])


def terms(text: str, key: str, *, scoped: bool = False) -> list[tuple[re.Match, bool]]:
    """(match, negated) for each vocabulary term not about a solved (or, when `scoped`, a
    local) problem; an explicit "urgent" is never scoped away."""
    hits = find_phrases(text, vocab()[key])
    return [
        (hit, negated(text, hit.start()))
        for hit in hits
        if not over(text, hit) and not (scoped and local(text, hit))
    ]
