"""Text normalisation shared by the intake rules: entities, accents, case, punctuation, spaces."""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterable
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


def unescape(text: str) -> str:
    """Decode HTML entities (`&eacute;`, `&#39;`, `&amp;`), twice for double-escaped text."""
    return html.unescape(html.unescape(text or ""))


def unify_punctuation(text: str) -> str:
    """Curly apostrophes, dashes and exotic spaces become `'`, `-` and a plain space."""
    text = text.translate(_TRANSLATE)
    for lig, plain in _LIGATURES.items():
        text = text.replace(lig, plain)
    return text


def strip_accents(text: str) -> str:
    """Remove combining marks: `Hélène` → `Helene`; keeps `°` and other symbols."""
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def collapse_spaces(text: str) -> str:
    """Runs of spaces inside each line become one space; line breaks are kept."""
    return "\n".join(re.sub(r"[ ]{2,}", " ", line).strip() for line in text.split("\n"))


def fold(text: str) -> str:
    """The comparison form: entities decoded, punctuation unified, no accents, casefolded."""
    text = unify_punctuation(unescape(text)).replace("\r\n", "\n").replace("\r", "\n")
    return collapse_spaces(strip_accents(text).casefold())


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


@lru_cache(maxsize=512)
def _compile(phrases: tuple[str, ...]) -> re.Pattern | None:
    sources = sorted((phrase_pattern(p) for p in phrases if p), key=len, reverse=True)
    return re.compile("|".join(f"(?:{s})" for s in sources), re.M) if sources else None


def phrase_regex(phrases: Iterable[str]) -> re.Pattern | None:
    """One compiled alternation for a vocabulary list (longest first); None for an empty list."""
    return _compile(tuple(phrases))


def find_phrases(folded_text: str, phrases: Iterable[str]) -> list[re.Match]:
    """Every non-overlapping occurrence of any vocabulary entry in already folded text."""
    regex = phrase_regex(phrases)
    return list(regex.finditer(folded_text)) if regex else []


def has_phrase(folded_text: str, phrases: Iterable[str]) -> bool:
    return bool(find_phrases(folded_text, phrases))


def mask(folded_text: str, phrases: Iterable[str]) -> str:
    """Blank out occurrences (same length) so later searches ignore them but offsets hold."""
    for match in reversed(find_phrases(folded_text, phrases)):
        start, end = match.span()
        folded_text = folded_text[:start] + " " * (end - start) + folded_text[end:]
    return folded_text
