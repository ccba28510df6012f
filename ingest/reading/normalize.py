"""Text folding shared by the intake rules: entities, accents, case, punctuation, spaces."""

from __future__ import annotations

import html
import re
import unicodedata
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


class _CombiningMarks(dict):
    """`str.translate` table deleting combining marks, filled in as code points are met."""

    def __missing__(self, code: int) -> int | None:
        self[code] = None if unicodedata.combining(chr(code)) else code
        return self[code]


_NO_MARKS = _CombiningMarks()


def unescape(text: str) -> str:
    """Decode HTML entities (`&eacute;`, `&#39;`, `&amp;`), twice for double-escaped text."""
    return html.unescape(html.unescape(text or ""))


# `str.translate` looks every character up in its table (~55 ns each); both tables below change
# a few characters only, so only the runs of those are translated: the same text, several
# times faster on a mail, where such characters are rare.
_UNIFIED = re.compile("[" + "".join(re.escape(chr(code)) for code in _TRANSLATE) + "]+")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _translate_unified(run: re.Match) -> str:
    return run.group().translate(_TRANSLATE)


def _without_marks(run: re.Match) -> str:
    return run.group().translate(_NO_MARKS)


def unify_punctuation(text: str) -> str:
    """Curly apostrophes, dashes and exotic spaces become `'`, `-` and a plain space."""
    text = _UNIFIED.sub(_translate_unified, text)
    if not text.isascii():
        for lig, plain in _LIGATURES.items():
            text = text.replace(lig, plain)
    return text


def strip_accents(text: str) -> str:
    """Remove combining marks: `Hélène` → `Helene`; keeps `°` and other symbols."""
    if text.isascii():
        return text
    return _NON_ASCII.sub(_without_marks, unicodedata.normalize("NFKD", text))


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
