"""Where a vocabulary list's entries can start in a text: one pass of a multi-pattern matcher
(Aho–Corasick, `pyahocorasick`) over the text with its whitespace runs written as one space,
the positions placed back in the text. `phrase_scan` tries a list's regex at those positions
only; every match begins with one of the list's starts, so the matches are those of the regex
tried at every position.

Most lists share one automaton (one pass over a text serves them all); a list with a start of
one or two characters, found everywhere, has its own.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_right
from contextlib import contextmanager
from functools import lru_cache

import ahocorasick

_LONG_SPACES = re.compile(r"\s\s+")
_SPACE_RUNS = re.compile("  +")
_OTHER_SPACES = re.compile(r"[^\S \n]")
_OTHER_ASCII_SPACES = "".join(c for c in map(chr, range(128)) if c.isspace() and c not in " \n")


def _automaton(starts: dict[str, object]) -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for start, value in starts.items():
        automaton.add_word(start, value)
    automaton.make_automaton()
    return automaton


class OwnStarts:
    """A list's starts in an automaton of its own: for a list with a start of one or two
    characters ("a", "t", "1"), found everywhere, which would cost every other list's pass."""

    def __init__(self, starts: set[str]):
        self.automaton = _automaton({start: len(start) - 1 for start in starts})

    def found(self, flat: str) -> set[int]:
        return {end - back for end, back in self.automaton.iter(flat)}


class _SharedStarts:
    """The starts of many lists in one automaton: one pass over a text finds them for all (a
    text is scanned for 20 lists or more). Lists join as they are compiled; the automaton is
    built again when lists it does not hold yet are asked for (`holding`)."""

    MAX_LISTS = 512

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lists: list[set[str]] = []
        self.built: tuple[ahocorasick.Automaton | None, int] = (None, 0)
        self.deferring = False
        self.misses = 0

    def join(self, starts: set[str]) -> int | None:
        with self._lock:
            if len(self._lists) >= self.MAX_LISTS:
                return None
            self._lists.append(starts)
            return len(self._lists) - 1

    def holding(self, slot: int) -> tuple[ahocorasick.Automaton | None, int] | None:
        """The automaton and how many lists it holds, once it holds `slot`; None when it does
        not yet (the list is then scanned by its regex alone). It is built again once it has
        been asked for lists it does not hold as many times as it holds lists, so that lists
        joining one after the other cost a few builds, not one each; never while the process
        warms up (`warming_up` builds it once, at the end)."""
        if slot < self.built[1]:
            return self.built
        self.misses += 1
        if self.deferring or self.misses < self.built[1]:
            return None
        self.build()
        return self.built

    def build(self) -> None:
        with self._lock:
            if self.built[1] == len(self._lists):
                return
            slots: dict[str, list[int]] = {}
            for n, starts in enumerate(self._lists):
                for start in starts:
                    slots.setdefault(start, []).append(n)
            values = {start: (len(start) - 1, tuple(n)) for start, n in slots.items()}
            self.built = (_automaton(values), len(self._lists))
            self.misses = 0


_SHARED = _SharedStarts()


@contextmanager
def warming_up():
    """Compile lists as they come without building the shared automaton again for each: it is
    built once, when the block ends."""
    _SHARED.deferring = True
    try:
        yield
    finally:
        _SHARED.deferring = False
        _SHARED.build()


@lru_cache(maxsize=16)
def _shared_hits(flat: str, built: tuple) -> dict[int, list[int]]:
    """Where each list of the shared automaton has a start in a spaced text: one pass for all."""
    hits: dict[int, list[int]] = {}
    for end, (back, slots) in built[0].iter(flat):
        for slot in slots:
            hits.setdefault(slot, []).append(end - back)
    return hits


class SharedSlot:
    """A list's place in the shared automaton."""

    def __init__(self, slot: int):
        self.slot = slot

    def found(self, flat: str) -> set[int] | None:
        built = _SHARED.holding(self.slot)
        return None if built is None else set(_shared_hits(flat, built).get(self.slot, ()))


_OWN_BELOW = 3  # a list with a start shorter than this gets an automaton of its own


def matcher_for(starts: set[str] | None) -> OwnStarts | SharedSlot | None:
    """How the starts of a list are found (None: they are not known, the regex scans alone)."""
    if not starts:
        return None
    if min(map(len, starts)) >= _OWN_BELOW and (slot := _SHARED.join(starts)) is not None:
        return SharedSlot(slot)
    return OwnStarts(starts)


@lru_cache(maxsize=16)
def spaced(text: str) -> tuple[str, list[int], list[int]]:
    """The text with every whitespace run written as one space, and how to place a position of
    it back in the text: where the runs longer than one character lie in the spaced text, and
    the characters dropped up to the end of each."""
    if _only_spaces_and_breaks(text):  # a folded text: line breaks become spaces in place
        flat = text.replace("\n", " ")
        return (
            (_SPACE_RUNS.sub(" ", flat), *_runs(_SPACE_RUNS, flat))
            if "  " in flat
            else (flat, [], [])
        )
    words = " ".join(text.split())  # str.split() and `\s` agree on what whitespace is
    if words:
        words = (" " if text[0].isspace() else "") + words + (" " if text[-1].isspace() else "")
    return words or (" " if text else ""), *_runs(_LONG_SPACES, text)


def _only_spaces_and_breaks(text: str) -> bool:
    """Whether the only whitespace of the text is spaces and line breaks (`fold` leaves no
    other): one `in` per other ASCII whitespace character is cheaper than a regex scan."""
    if text.isascii():
        return not any(char in text for char in _OTHER_ASCII_SPACES)
    return _OTHER_SPACES.search(text) is None


def _runs(regex: re.Pattern, text: str) -> tuple[list[int], list[int]]:
    marks, dropped, shift = [], [], 0
    for run in regex.finditer(text):
        marks.append(run.start() - shift)
        shift += run.end() - run.start() - 1
        dropped.append(shift)
    return marks, dropped


def candidates(matcher: OwnStarts | SharedSlot, text: str) -> list[int] | None:
    """Positions of the text (in order) where one of the matcher's starts occurs: a superset of
    where the list's regex can match, since every match begins with one of them. A start that
    begins with a whitespace run may begin anywhere in it: every position of the run is kept.
    None: not known yet (a list joining the shared automaton while a process warms up)."""
    flat, marks, dropped = spaced(text)
    found = matcher.found(flat)
    if found is None:
        return None
    if not marks:  # no run longer than one character: the spaced text's positions are the text's
        return sorted(found)
    placed = set()
    for p in found:
        i = bisect_right(marks, p)
        before = dropped[i - 1] if i else 0
        if i and marks[i - 1] == p:  # a long run, written as one space: all of it
            placed.update(range(p + (dropped[i - 2] if i > 1 else 0), p + before + 1))
        else:
            placed.add(p + before)
    return sorted(placed)
