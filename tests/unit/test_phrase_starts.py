"""Where a vocabulary scan tries its regex (ingest/reading/phrase_scan.py): on a text of some
length, only at the positions a multi-pattern matcher found one of the list's starts (a phrase,
or a literal prefix of a `re:` entry, whitespace runs read as one space). The matches must be
exactly those of the regex run over every position (`finditer`, `search`): checked on every list
of the shipped vocabulary and on lists made to stress the starts (leading and inner whitespace
runs of every kind, anchors, look-behinds, entries that may match empty), over generated texts
whose whitespace is of every kind Python's `\\s` knows."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.reading.phrase_scan import _SHORT_TEXT, family, find_phrases, has_phrase, mask
from ingest.reading.phrase_starts import (
    _SHARED,
    OwnStarts,
    SharedSlot,
    candidates,
    spaced,
    warming_up,
)
from tests.unit.test_phrase_needles import LISTS, WORDS

# Every kind of whitespace `\s` and str.split() agree on, alone and in runs.
SPACES = [
    " ",
    "  ",
    "\n",
    "\n\n",
    "\t",
    " \t ",
    "\r\n",
    "\xa0",
    "\x1c",
    "\u2028",
    "\u3000",
    " " * 9,
]
PIECES = [".", ", ", "?", "!", "'", "-", "(", ")", ":", "n°", "123", "hs", "hs :", "db", "_", "é"]

# Lists made for the starts: a regex entry whose prefixes begin with whitespace, hold literal
# spaces or a class of spaces; anchored ones; one that may match empty (no start: the regex
# alone); one whose start is whitespace only (no matcher); phrases sharing first words.
MADE = [
    ("re:^\\s*hs\\s*:", "panne"),
    ("re:a  b", "re:c[ \\t]d", "re:\\s+urgent", "serveur en panne"),
    ("re:^urgent", "re:urgent$", "re:(?<=: )down", "down"),
    ("re:x*", "panne"),
    ("re:[.!?\\n]", "mais"),
    ("ne marche plus", "ne fonctionne plus", "ne", "plus du tout"),
    ("re:(?:hs|down)\\s*!", "re:\\bsite\\s+(?:hs|down)\\b", "site"),
]
ALL_LISTS = [phrases for _, phrases in LISTS] + MADE
ALL_WORDS = sorted(set(WORDS) | {"a", "b", "c", "d", "x", "urgent", "down", "site", "hs", "mais"})


def by_regex(text: str, phrases: tuple[str, ...]) -> list[tuple[int, int]]:
    regex = family(phrases).regex
    return [m.span() for m in regex.finditer(text)] if regex else []


# A folded text's only whitespace: spaces and line breaks (scanned by a quicker way).
FOLDED_SPACES = [" ", "  ", "\n", "\n\n", " \n ", "\n" * 4]


def generated(rng: random.Random, size: int, spaces: list[str] = SPACES) -> str:
    words = [
        rng.choice(ALL_WORDS) if rng.random() < 0.6 else rng.choice(PIECES) for _ in range(size)
    ]
    return rng.choice(["", *spaces]) + "".join(w + rng.choice(["", *spaces]) for w in words)


def test_most_shipped_lists_have_a_matcher_and_the_made_ones_where_they_can():
    assert sum(family(p).matcher is not None for _, p in LISTS) > len(LISTS) * 0.8
    assert family(MADE[0]).matcher is not None  # a start after leading whitespace
    assert family(MADE[3]).matcher is None  # `x*` may match empty: it may start anywhere
    assert family(MADE[4]).matcher is None  # `\n` alone: every space would be a start


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    size=st.integers(20, 700),
    spaces=st.sampled_from([SPACES, FOLDED_SPACES]),
)
def test_generated_texts_give_the_matches_of_the_regex_over_every_position(seed, size, spaces):
    text = generated(random.Random(seed), size, spaces)
    for phrases in ALL_LISTS:
        expected = by_regex(text, phrases)
        assert [m.span() for m in find_phrases(text, phrases)] == expected, phrases
        assert has_phrase(text, phrases) == bool(expected), phrases


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_text_whose_matches_touch_each_other_and_its_ends(seed):
    rng = random.Random(seed)
    phrases = rng.choice(ALL_LISTS)
    entries = [p.removeprefix("re:") for p in phrases if p.isascii() and "\\" not in p]
    parts = [rng.choice(entries or ["panne"]) for _ in range(rng.randint(30, 80))]
    text = "".join(p + rng.choice(["", "", *SPACES]) for p in parts)
    if len(text) < _SHORT_TEXT:  # long enough for the matcher to be used
        text += " fin" * _SHORT_TEXT
    assert [m.span() for m in find_phrases(text, phrases)] == by_regex(text, phrases)


def test_the_masked_text_is_the_same_as_with_the_regex_alone():
    rng = random.Random(7)
    for n in range(50):
        text = generated(rng, 300, (SPACES, FOLDED_SPACES)[n % 2])
        for phrases in ALL_LISTS:
            regex = family(phrases).regex
            expected = regex.sub(lambda m: " " * len(m.group()), text) if regex else text
            assert mask(text, phrases) == expected


@pytest.mark.parametrize("space", sorted(set(SPACES + FOLDED_SPACES)))
def test_a_start_after_whitespace_runs_is_placed_back_where_it_is_in_the_text(space):
    text = ("x" + space) * 40 + "serveur" + space + "en" + space * 3 + "panne" + space + "y" * 120
    phrases = ("serveur en panne", "re:\\s+urgent")
    start = text.index("serveur")
    matcher = family(phrases).matcher
    _SHARED.build()  # held now, not after enough scans have asked for it
    assert start in candidates(matcher, text)
    assert [m.start() for m in find_phrases(text, phrases)] == [start]
    flat, _, _ = spaced(text)
    assert "serveur en panne" in flat and len(flat) <= len(text)


def test_a_start_that_begins_with_a_whitespace_run_is_tried_anywhere_in_it():
    # `^\s*hs` with re.M: the match starts after the line break, inside the run.
    text = "ligne un" + "\n\n  \t" + "hs : le serveur" + " fin" * 40
    phrases = MADE[0]
    assert [m.span() for m in find_phrases(text, phrases)] == by_regex(text, phrases) != []


def test_lists_joining_the_shared_automaton_late_are_found_before_and_after_it_is_rebuilt():
    text = generated(random.Random(11), 400) + " serveur tout neuf en panne complete"
    find_phrases(text, LISTS[0][1])  # the shared automaton is built with what joined so far
    late = [(f"mot{n} inconnu", "serveur tout neuf", f"panne complete {n}") for n in range(40)]
    held_before = _SHARED.built[1]
    for phrases in late * 3:  # asked again and again: rebuilt once asked for enough times
        assert isinstance(family(phrases).matcher, SharedSlot)
        assert [m.span() for m in find_phrases(text, phrases)] == by_regex(text, phrases) != []
    assert _SHARED.built[1] >= held_before + len(late)


def test_while_warming_up_lists_are_scanned_by_their_regex_and_the_automaton_built_once():
    text = generated(random.Random(12), 300) + " disque plein depuis hier"
    lists = [(f"disque plein depuis {n}", "disque plein", f"autre {n}") for n in range(5)]
    with warming_up():
        for phrases in lists:
            assert candidates(family(phrases).matcher, text) is None  # not held yet
            assert [m.span() for m in find_phrases(text, phrases)] == by_regex(text, phrases)
    for phrases in lists:  # held now, without another build
        assert candidates(family(phrases).matcher, text) is not None


def test_a_list_with_a_start_of_one_or_two_characters_has_an_automaton_of_its_own():
    assert isinstance(family(("a plus de service", "n/a", "ko")).matcher, OwnStarts)
    assert isinstance(family(("plus de service", "hors service")).matcher, SharedSlot)
