"""The needles of a vocabulary scan (ingest/reading/phrase_scan.py): a text holding none of a
list's needles is not scanned, so every match of every entry must hold one. Checked on every
list of the shipped vocabulary, on the entries themselves and on generated texts, against the
scan run without the needles."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest import config_files
from ingest.reading.normalize import fold
from ingest.reading.phrase_scan import REGEX_PREFIX, family, find_phrases, has_phrase


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
    assert family(("panne", "re:\\s*urgent")).needles is None
    assert family(("panne", "re:[.!?;\\n]")).needles == ("\n", "!", ".", ";", "?", "panne")
