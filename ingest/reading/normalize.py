"""Text normalisation shared by the intake rules: entities, accents, case, punctuation, spaces."""

from __future__ import annotations

import html
import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

# Typographic variants folded to their ASCII form so one vocabulary entry covers them all.
_APOSTROPHES = "\u2019\u2018\u02bc\u0060\u00b4\u2032"
_HYPHENS = "\u2010\u2011\u2012\u2013\u2014\u2212"
_SPACES = "\u00a0\u202f\u2007\u2009\u200a\u3000\t"
_ZERO_WIDTH = "\u200b\u200c\u200d\ufeff\u00ad"
_TRANSLATE = str.maketrans(
    _APOSTROPHES + _HYPHENS + _SPACES,
    "'" * len(_APOSTROPHES) + "-" * len(_HYPHENS) + " " * len(_SPACES),
    _ZERO_WIDTH,
)
_LIGATURES = {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss"}
REGEX_PREFIX = "re:"
_ONE_CHAR = re.compile(r"\[\^?(?:[^\\\[\]]|\\.)+\]")  # a regex entry such as `[.!?;\n]`


class _CombiningMarks(dict):
    """`str.translate` table deleting combining marks, filled in as code points are met."""

    def __missing__(self, code: int) -> int | None:
        self[code] = None if unicodedata.combining(chr(code)) else code
        return self[code]


_NO_MARKS = _CombiningMarks()


def unescape(text: str) -> str:
    """Decode HTML entities (`&eacute;`, `&#39;`, `&amp;`), twice for double-escaped text."""
    return html.unescape(html.unescape(text or ""))


def unify_punctuation(text: str) -> str:
    """Curly apostrophes, dashes and exotic spaces become `'`, `-` and a plain space."""
    text = text.translate(_TRANSLATE)
    if not text.isascii():
        for lig, plain in _LIGATURES.items():
            text = text.replace(lig, plain)
    return text


def strip_accents(text: str) -> str:
    """Remove combining marks: `Hélène` → `Helene`; keeps `°` and other symbols."""
    if text.isascii():
        return text
    return unicodedata.normalize("NFKD", text).translate(_NO_MARKS)


def collapse_spaces(text: str) -> str:
    """Runs of spaces inside each line become one space; line breaks are kept."""
    if "  " not in text:
        return "\n".join(line.strip() for line in text.split("\n"))
    return "\n".join(re.sub(r"[ ]{2,}", " ", line).strip() for line in text.split("\n"))


def _fold(text: str) -> str:
    text = unify_punctuation(unescape(text)).replace("\r\n", "\n").replace("\r", "\n")
    return collapse_spaces(strip_accents(text).casefold())


_fold_short = lru_cache(maxsize=4096)(_fold)  # lines, names, subjects
_fold_long = lru_cache(maxsize=16)(_fold)  # whole texts, folded by several rules


def fold(text: str) -> str:
    """The comparison form: entities decoded, punctuation unified, no accents, casefolded."""
    if not text:
        return _fold(text)
    return _fold_short(text) if len(text) <= 256 else _fold_long(text)


def words(text: str) -> list[str]:
    """Folded alphanumeric words; apostrophes, hyphens, dots and commas separate words."""
    return re.findall(r"[^\W_]+", fold(text))


def phrase_pattern(phrase: str) -> str:
    """Regex source for one vocabulary entry: a folded phrase, or raw regex after `re:`."""
    if phrase.startswith(REGEX_PREFIX):
        return phrase[len(REGEX_PREFIX) :]
    folded = fold(phrase)
    body = r"\s+".join(re.escape(part) for part in folded.split())
    left = r"(?<!\w)" if folded[:1].isalnum() else ""
    right = r"(?!\w)" if folded[-1:].isalnum() else ""
    return left + body + right


def _needle(phrase: str) -> str | None:
    """A piece of text no match of the entry can lack (None: a regex, always tried)."""
    if phrase.startswith(REGEX_PREFIX):
        return None
    return max(fold(phrase).split(), key=len, default=None)


def _reach(phrase: str) -> int | None:
    """How many non-space characters an attempt at one position can read, at most, for an
    entry that looks back one character at most (None: unknown, or it can match empty)."""
    if phrase.startswith(REGEX_PREFIX):
        return 1 if _ONE_CHAR.fullmatch(phrase[len(REGEX_PREFIX) :]) else None
    letters = "".join(fold(phrase).split())
    return len(letters) + 1 if letters else None


@dataclass
class _Family:
    """One vocabulary list: its alternation, and the sub-alternations of the entries that
    can occur in a given text (same order, so the same leftmost-first matches)."""

    regex: re.Pattern | None
    sources: tuple[str, ...]
    needles: tuple[str | None, ...]
    reach: int | None
    narrowed: dict[tuple[int, ...], re.Pattern] = field(default_factory=dict)
    last: tuple = (None, None)  # (text, its regex): rules ask about one text several times

    def regex_for(self, text: str) -> re.Pattern | None:
        last_text, last_regex = self.last  # one read: threads may share the family
        if last_text is text:
            return last_regex
        regex = self._narrow(text)
        self.last = (text, regex)
        return regex

    def _narrow(self, text: str) -> re.Pattern | None:
        keep = tuple(i for i, n in enumerate(self.needles) if n is None or n in text)
        if len(keep) == len(self.sources):
            return self.regex
        if not keep:
            return None
        regex = self.narrowed.get(keep)
        if regex is None:
            if len(self.narrowed) >= 512:
                self.narrowed.clear()
            alternatives = "|".join(f"(?:{self.sources[i]})" for i in keep)
            regex = self.narrowed[keep] = re.compile(alternatives, re.M)
        return regex


@lru_cache(maxsize=512)
def _family(phrases: tuple[str, ...]) -> _Family:
    entries = [(phrase_pattern(p), _needle(p)) for p in phrases if p]
    entries.sort(key=lambda entry: len(entry[0]), reverse=True)
    sources = tuple(source for source, _ in entries)
    regex = re.compile("|".join(f"(?:{s})" for s in sources), re.M) if sources else None
    reaches = [_reach(p) for p in phrases if p]
    reach = None if None in reaches or not reaches else max(reaches)
    return _Family(regex, sources, tuple(needle for _, needle in entries), reach)


def phrase_regex(phrases: Iterable[str]) -> re.Pattern | None:
    """One compiled alternation for a vocabulary list (longest first); None for an empty list."""
    return _family(tuple(phrases)).regex


def phrase_search(folded_text: str, phrases: Iterable[str]) -> re.Pattern | None:
    """The alternation narrowed to the entries that can occur in this text (same matches)."""
    return _family(tuple(phrases)).regex_for(folded_text)


def reach(phrases: Iterable[str]) -> int | None:
    """Non-space characters an attempt to match the list at one position reads, at most."""
    return _family(tuple(phrases)).reach


def find_phrases(folded_text: str, phrases: Iterable[str]) -> list[re.Match]:
    """Every non-overlapping occurrence of any vocabulary entry in already folded text."""
    regex = phrase_search(folded_text, phrases)
    return list(regex.finditer(folded_text)) if regex else []


def has_phrase(folded_text: str, phrases: Iterable[str]) -> bool:
    regex = phrase_search(folded_text, phrases)
    return bool(regex and regex.search(folded_text))


def blank(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """Spaces over each (start, end) span, in order and disjoint; the length is kept."""
    pieces, done = [], 0
    for start, end in spans:
        pieces += [text[done:start], " " * (end - start)]
        done = end
    return "".join(pieces) + text[done:] if pieces else text


def mask(folded_text: str, phrases: Iterable[str]) -> str:
    """Blank out occurrences (same length) so later searches ignore them but offsets hold."""
    return blank(folded_text, (m.span() for m in find_phrases(folded_text, phrases)))


# --- matches in a part of a text, from the matches in the whole text (no rescan per part) ----


def _safe_point(text: str, end: int, reach: int) -> int:
    """Last position before which more than `reach` non-space characters lie until `end`:
    an attempt there cannot read as far as `end`, so it goes as in the whole text."""
    seen = 0
    for i in range(end - 1, -1, -1):
        if not text[i].isspace():
            seen += 1
            if seen > reach:
                return i
    return -1


def last_end_before(text: str, phrases, matches: list[re.Match], end: int) -> int | None:
    """End of the last of `find_phrases(text[:end], phrases)`, given `matches`, those of the
    whole text: they are the same up to a few characters before `end`, rescanned."""
    family = _family(tuple(phrases))
    if family.reach is None:
        found = find_phrases(text[:end], phrases)
        return found[-1].end() if found else None
    safe = _safe_point(text, end, family.reach)
    j = bisect_right(matches, safe, key=re.Match.start) - 1
    resume = max(matches[j].end(), safe + 1) if j >= 0 else safe + 1
    regex = family.regex_for(text)
    found = list(regex.finditer(text, resume, end)) if regex else []
    if found:
        return found[-1].end()
    return matches[j].end() if j >= 0 else None


def first_start_after(text: str, phrases, matches: list[re.Match], start: int) -> int | None:
    """Start, in `text[start:]`, of the first of `find_phrases(text[start:], phrases)`, given
    `matches`, those of the whole text (only the first position looks back past `start`)."""
    family = _family(tuple(phrases))
    if family.reach is None:
        found = find_phrases(text[start:], phrases)
        return found[0].start() if found else None
    regex = family.regex_for(text)
    if regex is None:
        return None
    if regex.match(text[start:]):
        return 0
    after = start + 1
    k = bisect_right(matches, after, key=re.Match.end)
    if k == len(matches):
        return None
    if matches[k].start() >= after:
        return matches[k].start() - start
    for i in range(after, matches[k].end()):  # inside a match of the whole text: not tried
        if regex.match(text, i):
            return i - start
    return matches[k + 1].start() - start if k + 1 < len(matches) else None
