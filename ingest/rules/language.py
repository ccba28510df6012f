"""Tell French from English in the customer's own words (French unless English clearly wins)."""

from __future__ import annotations

import re
from functools import lru_cache

from ingest import config_files
from ingest.model import Content, Finding
from ingest.reading.normalize import fold, unescape
from ingest.reading.pasted_text import without_log_lines
from ingest.reading.text_split import split_text

FIELD = "language"
_FRENCH_LETTERS = re.compile(r"[éèêëàâîïôûùüçœÉÈÊÀÂÎÔÛÇ]")


@lru_cache(maxsize=1)
def _vocab() -> dict:
    return config_files.load("vocabulary")["language"]


@lru_cache(maxsize=2)
def _markers(lang: str) -> frozenset[str]:
    return frozenset(_vocab()[lang])


def own_words(content: Content) -> str:
    """Subject and new text: quoted history, signature, disclaimer and pasted logs would vote
    for someone else."""
    body = without_log_lines(split_text(content.text).new_text)
    return unescape((content.subject or "") + "\n" + body)


def votes(text: str) -> dict[str, int]:
    """Marker words of each language, plus words spelt with French accents."""
    v = _vocab()
    tokens = re.findall(r"[a-z0-9]+", fold(text))
    counts = {lang: sum(t in _markers(lang) for t in tokens) for lang in ("fr", "en")}
    accented = sum(bool(_FRENCH_LETTERS.search(w)) for w in text.split())
    counts["fr"] += accented * v["accent_weight"]
    return counts


class DeclaredLanguage:
    name = "declared-language"
    description = "the language a partner system declared"

    def decide(self, content: Content) -> tuple[str, str] | None:
        value = str(content.declared.get("language") or "").strip().lower()[:2]
        return (value, f"declared {value!r}") if value in ("fr", "en") else None


class MarkerWords:
    name = "marker-words"
    description = "French and English marker words in the customer's own text"

    def decide(self, content: Content) -> tuple[str, str] | None:
        counts, v = votes(own_words(content)), _vocab()
        if counts["en"] + counts["fr"] < v["min_votes"]:
            return None
        language = "en" if counts["en"] > counts["fr"] else "fr"
        return language, f"votes fr={counts['fr']} en={counts['en']}"


class Default:
    name = "default-language"
    description = "French when nothing else decides"

    def decide(self, content: Content) -> tuple[str, str] | None:
        return _vocab()["default"], "no marker words: default language"


RULES = (DeclaredLanguage(), MarkerWords(), Default())


def detect_language(content: Content) -> tuple[str, list[Finding]]:
    """ "fr" or "en" for the acknowledgement, and the finding that decided it."""
    for rule in RULES:
        decided = rule.decide(content)
        if decided:
            return decided[0], [Finding(rule.name, FIELD, decided[0], decided[1])]
    raise AssertionError("the default rule always decides")
