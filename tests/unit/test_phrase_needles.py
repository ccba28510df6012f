"""The needles of a vocabulary scan (ingest/reading/phrase_scan.py): a text holding none of a
list's needles is not scanned, so every match of every entry must hold one. Checked on every
list of the shipped vocabulary, on the entries themselves and on generated texts, against the
scan run without the needles."""

from __future__ import annotations

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import config_files
from ingest.reading.normalize import fold
from ingest.reading.phrase_scan import (
    REGEX_PREFIX,
    family,
    find_phrases,
    has_phrase,
    phrase_pattern,
)
from ingest.reading.regex_prefixes import MAX_PREFIXES, prefixes


def vocabulary_lists() -> list[tuple[str, tuple[str, ...]]]:
    found: list[tuple[str, tuple[str, ...]]] = []

    def walk(path: str, value) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(f"{path}.{key}", item)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            found.append((path, tuple(value)))

    walk("vocabulary", config_files.load("vocabulary"))
    return found


LISTS = vocabulary_lists()
WORDS = sorted(
    {
        w
        for _, phrases in LISTS
        for p in phrases
        if not p.startswith(REGEX_PREFIX)
        for w in fold(p).split()
    }
)


def unfiltered(text: str, phrases: tuple[str, ...]) -> list[tuple[int, int]]:
    regex = family(phrases).regex
    return [m.span() for m in regex.finditer(text)] if regex else []


def test_the_vocabulary_has_lists_and_most_of_them_have_needles():
    assert len(LISTS) > 30
    assert sum(family(p).needles is not None for _, p in LISTS) > len(LISTS) / 2


@pytest.mark.parametrize("name, phrases", LISTS, ids=[name for name, _ in LISTS])
def test_each_entry_on_its_own_is_found_as_without_needles(name, phrases):
    for phrase in phrases:
        if phrase.startswith(REGEX_PREFIX) or not phrase.strip():
            continue
        # Long enough for the needles to be looked for, the entry in the middle.
        text = "x " * 300 + " ".join(fold(phrase).split()) + " y" * 300
        assert [m.span() for m in find_phrases(text, phrases)] == unfiltered(text, phrases)
        assert has_phrase(text, phrases) == bool(unfiltered(text, phrases))


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(50, 900))
def test_generated_texts_are_scanned_as_without_needles(seed, size):
    rng = random.Random(seed)
    pieces = [" ", "\n", ". ", ", ", "?", "'", "-", "(", ")", "n°", "123", "abc"]
    words = [rng.choice(WORDS) if rng.random() < 0.6 else rng.choice(pieces) for _ in range(size)]
    text = "".join(w + rng.choice(["", " ", "  ", "\n"]) for w in words)
    for _, phrases in LISTS:
        assert [m.span() for m in find_phrases(text, phrases)] == unfiltered(text, phrases)
        assert has_phrase(text, phrases) == bool(unfiltered(text, phrases))


def test_a_text_without_any_needle_is_not_scanned_and_has_no_match():
    phrases = ("serveur en panne", "site inaccessible")
    needles = family(phrases).needles
    assert needles == ("inaccessible", "serveur")  # the longest word of each
    text = "le site est lent depuis ce matin, " * 20
    assert find_phrases(text, phrases) == [] and unfiltered(text, phrases) == []


def test_a_regex_entry_that_may_start_anywhere_turns_the_needles_off():
    assert family(("panne", "re:\\w+ urgent")).needles is None
    # Spaces first: every match still holds the literal after them.
    assert family(("panne", "re:\\s*urgent")).needles == ("panne", "urgent")


def test_a_regex_with_too_many_prefixes_keeps_the_heads_found_before_them():
    words = "|".join(f"w{n}" for n in range(20))
    pattern = f"(?:{words})\\s+(?:{words})\\s+(?:{words})"  # 8,000 whole prefixes
    found = prefixes(pattern)
    matches = [f"w{a} w{b}  w{c}" for a in range(20) for b in (0, 7, 19) for c in (3, 11)]
    assert found is not None and len(found) <= MAX_PREFIXES
    assert all(any(m.replace("  ", " ").startswith(head) for head in found) for m in matches)
    needles = family((f"re:{pattern}",)).needles
    assert needles and all(any(n in m for n in needles) for m in matches)


# The guard in front of each scan (where an entry can start: a trie of the phrases and of the
# literal prefixes of the `re:` entries) must not change a match either: against the plain
# alternation of the entries, longest first, with neither guard nor needles.


def plain(text: str, phrases: tuple[str, ...]) -> list[tuple[int, int]]:
    kept = [p for p in phrases if p]
    sources = sorted((phrase_pattern(p) for p in kept), key=len, reverse=True)
    regex = re.compile("|".join(f"(?:{s})" for s in sources), re.M)
    return [m.span() for m in regex.finditer(text)] if kept else []


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), size=st.integers(50, 600))
def test_generated_texts_are_scanned_as_by_the_plain_alternation(seed, size):
    rng = random.Random(seed)
    pieces = [" ", "\n", ". ", ", ", "?", "'", "-", "hs :", "db", "data", "is", "n°", "123"]
    words = [rng.choice(WORDS) if rng.random() < 0.6 else rng.choice(pieces) for _ in range(size)]
    text = "".join(w + rng.choice(["", " ", "  ", "\n"]) for w in words)
    for _, phrases in LISTS:
        assert [m.span() for m in find_phrases(text, phrases)] == plain(text, phrases)
