"""Vocabulary lists as precompiled scans: one regex per list, built once per process.

A list's regex is the alternation of its entries, longest source first, tried leftmost-first.
Two rewrites keep every match the same and make a scan cost little more than reading the text:

* a guard in front lets the alternation be tried only where one of the entries can start — a
  trie of the phrases (and of the literal prefixes of the `re:` entries), so each position
  costs a few character comparisons instead of one attempt per entry;
* a phrase that must start a word (`(?<!\\w)panne`) is written `p(?<!\\w.)anne`: the same test,
  but the alternation now opens on a plain character, which the regex engine rejects at once.

On a text of some length, the regex is not run over every position at all: a multi-pattern
matcher (Aho–Corasick, `pyahocorasick`) reads the text once and gives the positions where one of
the list's phrases (or a literal prefix of one of its `re:` entries) occurs, whitespace runs read
as one space; the regex is tried at those positions only, in order, skipping those inside the
match before, which gives exactly the matches `finditer` gives (`find_phrases`). A list with an
entry that may start anywhere (no literal prefix) is scanned by its regex as before.

Nothing here compiles a regex per message: the cache holds one entry per vocabulary list.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ingest.reading.normalize import fold
from ingest.reading.phrase_starts import OwnStarts, SharedSlot, candidates, matcher_for
from ingest.reading.regex_prefixes import prefixes

REGEX_PREFIX = "re:"
_ONE_CHAR = re.compile(r"\[\^?(?:[^\\\[\]]|\\.)+\]")  # a regex entry such as `[.!?;\n]`
_WORD_START = r"(?<!\w)"
_NON_SPACE = re.compile(r"\S")
_CHARS_PER_NEEDLE = 8  # a text shorter than this per needle is scanned without looking
# A text shorter than this is scanned by the regex alone: the matcher's set-up would cost more.
_SHORT_TEXT = 96


def phrase_pattern(phrase: str) -> str:
    """Regex source for one vocabulary entry: a folded phrase, or raw regex after `re:`."""
    if phrase.startswith(REGEX_PREFIX):
        return phrase[len(REGEX_PREFIX) :]
    folded = fold(phrase)
    body = r"\s+".join(re.escape(part) for part in folded.split())
    left = _WORD_START if folded[:1].isalnum() else ""
    right = r"(?!\w)" if folded[-1:].isalnum() else ""
    return left + body + right


def _fast(source: str) -> str:
    """`(?<!\\w)x…` as `x(?<!\\w.)…`: one character read first, the same condition after it."""
    head = source[len(_WORD_START) : len(_WORD_START) + 1]
    if source.startswith(_WORD_START) and head.isalnum():
        return head + r"(?<!\w.)" + source[len(_WORD_START) + 1 :]
    return source


def _reach(phrase: str) -> int | None:
    """How many non-space characters an attempt at one position can read, at most, for an
    entry that looks back one character at most (None: unknown, or it can match empty)."""
    if phrase.startswith(REGEX_PREFIX):
        return 1 if _ONE_CHAR.fullmatch(phrase[len(REGEX_PREFIX) :]) else None
    letters = "".join(fold(phrase).split())
    return len(letters) + 1 if letters else None


# --- the guard: where some entry can start ------------------------------------------------


def _trie(strings: Iterable[tuple[str, str]]) -> str:
    """Regex matching a prefix of the text that is one of `strings` ((text, then), where
    `then` is a zero-width test after it, e.g. `(?!\\w)`); a space stands for `\\s+`."""
    root: dict = {}
    for text, then in strings:
        node = root
        for char in text:
            node = node.setdefault(char, {})
        node.setdefault(None, set()).add(then)
    return _emit(root)


def _emit(node: dict) -> str:
    ends = node.get(None, set())
    if "" in ends:
        return ""  # a string ends here unconditionally: nothing more to test
    branches = [
        (r"\s+" if char == " " else re.escape(char)) + _emit(child)
        for char, child in sorted((c, n) for c, n in node.items() if c is not None)
    ]
    branches += sorted(ends)
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _guard(phrases: list[str]) -> str:
    words, starts, anywhere = set(), set(), []
    for phrase in phrases:
        if not phrase.startswith(REGEX_PREFIX):
            folded = " ".join(fold(phrase).split())
            then = r"(?!\w)" if folded[-1:].isalnum() else ""
            (words if folded[:1].isalnum() else starts).add((folded, then))
            continue
        found = prefixes(phrase[len(REGEX_PREFIX) :])
        if found is None:
            anywhere.append(phrase[len(REGEX_PREFIX) :])
        else:
            starts |= {(p, "") for p in found}
    parts = [_WORD_START + f"(?={_trie(words)})"] if words else []
    parts += [f"(?={_trie(starts)})"] if starts else []
    parts += [f"(?=(?:{source}))" for source in anywhere]
    return "(?:" + "|".join(parts) + ")"


def _heads(phrase: str) -> set[str] | None:
    """What every match of an entry starts with: the folded phrase, or the literal prefixes of a
    `re:` entry (a space for a whitespace run); None when a match may start with anything."""
    if phrase.startswith(REGEX_PREFIX):
        return prefixes(phrase[len(REGEX_PREFIX) :])
    return {fold(phrase)}


# --- the needles: text that every match holds ----------------------------------------------


def _needles(phrases: list[str]) -> tuple[str, ...] | None:
    """Strings such that every match of an entry of the list contains one of them (None when
    an entry may match anything): for a phrase its longest word, for a `re:` entry the longest
    literal piece of each of its prefixes. A text holding none of them has no match, which `in` tells
    in a fraction of the time the regex engine takes to try every position (measured: 2–14 µs
    against 55–66 µs on a 4 KB mail)."""
    found: set[str] = set()
    for phrase in phrases:
        heads = _heads(phrase)
        if heads is None:
            return None
        regex_entry = phrase.startswith(REGEX_PREFIX)
        # In a prefix a space is a whitespace run; any other character is itself ("\n").
        found |= {
            max(h.split(" ") if regex_entry else h.split(), key=len, default="") for h in heads
        }
    if "" in found:
        return None
    # A needle that holds another is found only where that one is: the shorter one suffices.
    return tuple(sorted(n for n in found if not any(o != n and o in n for o in found)))


# --- the starts: where an entry can start, found by one pass of a multi-pattern matcher ------


def _starts_of(phrases: list[str]) -> set[str] | None:
    """Literal texts, each whitespace run written as one space, such that every match of an
    entry starts with one of them (None when an entry may start with anything, or with nothing
    but whitespace: every space of the text would be a place to try)."""
    found: set[str] = set()
    for phrase in phrases:
        heads = _heads(phrase)
        if heads is None:
            return None
        for head in heads:
            words = " ".join(head.split())  # a prefix of the head: still starts every match
            if not words:
                return None
            found.add(" " + words if head[0].isspace() else words)
    return found


@dataclass(frozen=True)
class Family:
    """One vocabulary list, compiled: its guarded alternation, what a span search needs, and
    the needles one of which a text must hold to match."""

    regex: re.Pattern | None
    reach: int | None
    needles: tuple[str, ...] | None = None
    matcher: OwnStarts | SharedSlot | None = None

    def matches(self, text: str, first_only: bool = False) -> list[re.Match]:
        """What `regex.finditer(text)` gives (its first match only, with `first_only`)."""
        if self.regex is None:
            return []
        starts = None
        if self.matcher is not None and len(text) >= _SHORT_TEXT:
            starts = candidates(self.matcher, text)
        if starts is None:
            if not self.may_match(text):
                return []
            if first_only:
                return [m] if (m := self.regex.search(text)) else []
            return list(self.regex.finditer(text))
        found, done, match = [], 0, self.regex.match
        for start in starts:
            if start >= done and (m := match(text, start)):
                if m.end() == start:  # an empty match: finditer's own rules apply after it
                    return list(self.regex.finditer(text))
                found.append(m)
                if first_only:
                    break
                done = m.end()
        return found

    def may_match(self, folded_text: str) -> bool:
        """False only when the text cannot match. The needles are looked for in a text long
        enough for them to cost less than the scan (about 8 characters per needle: each `in`
        costs what the regex engine spends on a few characters)."""
        if self.regex is None:
            return False
        needles = self.needles
        if needles is None or len(folded_text) < _CHARS_PER_NEEDLE * len(needles):
            return True
        return any(n in folded_text for n in needles)


@lru_cache(maxsize=512)
def family(phrases: tuple[str, ...]) -> Family:
    kept = [p for p in phrases if p]
    if not kept:
        return Family(None, None)
    sources = sorted((phrase_pattern(p) for p in kept), key=len, reverse=True)
    alternation = "|".join(f"(?:{_fast(s)})" for s in sources)
    regex = re.compile(f"{_guard(kept)}(?:{alternation})", re.M)
    reaches = [_reach(p) for p in kept]
    reach_ = None if None in reaches else max(reaches)
    return Family(regex, reach_, _needles(kept), matcher_for(_starts_of(kept)))


# The vocabulary lists and tables are loaded once and never changed: one seen before is found
# by identity, without copying it into a tuple and hashing that on every call (38 calls per
# mail, a tenth of a mail's analysis). An entry holds its object, so its id is not reused.
_BY_ID: dict[tuple[str, int], tuple[object, object]] = {}


def _by_identity(kind: str, source, make):
    hit = _BY_ID.get((kind, id(source)))
    if hit is not None and hit[0] is source:
        return hit[1]
    made = make(source)
    if isinstance(source, list | tuple | dict) and len(_BY_ID) < 1024:
        _BY_ID[(kind, id(source))] = (source, made)
    return made


def compiled(phrases: Iterable[str]) -> Family:
    """The compiled family of a vocabulary list."""
    return _by_identity("list", phrases, lambda p: family(tuple(p)))


def phrase_regex(phrases: Iterable[str]) -> re.Pattern | None:
    """One compiled alternation for a vocabulary list (longest first); None for an empty list."""
    return compiled(phrases).regex


def reach(phrases: Iterable[str]) -> int | None:
    """Non-space characters an attempt to match the list at one position reads, at most."""
    return compiled(phrases).reach


def union(groups: dict[str, list[str]]) -> list[str]:
    """Every entry of a vocabulary table of lists (one list per ISP, per service…), as one list
    (the same list object each time, so its scan is compiled once)."""
    return _by_identity("table", groups, lambda g: [p for phrases in g.values() for p in phrases])


def any_group(folded_text: str, groups: dict[str, list[str]]) -> bool:
    """Whether an entry of any list of `groups` occurs: one scan. A text where none does (most
    mails, for most tables) is then spared one scan per list; where one does, the lists are
    scanned one by one as before, so what each rule finds is unchanged."""
    return has_phrase(folded_text, union(groups))


def find_phrases(folded_text: str, phrases: Iterable[str]) -> list[re.Match]:
    """Every non-overlapping occurrence of any vocabulary entry in already folded text."""
    return compiled(phrases).matches(folded_text)


def has_phrase(folded_text: str, phrases: Iterable[str]) -> bool:
    return bool(compiled(phrases).matches(folded_text, first_only=True))


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


def _reach_point(text: str, start: int, reach: int) -> int:
    """End of the shortest `text[start:stop]` holding `reach + 1` non-space characters: an
    attempt at `start` never reads as far as its last character, so never sees its end."""
    for found, hit in enumerate(_NON_SPACE.finditer(text, start), 1):
        if found > reach:
            return hit.end()
    return len(text)


def last_end_before(text: str, phrases, matches: list[re.Match], end: int) -> int | None:
    """End of the last of `find_phrases(text[:end], phrases)`, given `matches`, those of the
    whole text: they are the same up to a few characters before `end`, rescanned."""
    found_family = compiled(phrases)
    if found_family.reach is None:
        found = find_phrases(text[:end], phrases)
        return found[-1].end() if found else None
    safe = _safe_point(text, end, found_family.reach)
    j = bisect_right(matches, safe, key=re.Match.start) - 1
    resume = max(matches[j].end(), safe + 1) if j >= 0 else safe + 1
    found = list(found_family.regex.finditer(text, resume, end)) if found_family.regex else []
    if found:
        return found[-1].end()
    return matches[j].end() if j >= 0 else None


def first_start_after(text: str, phrases, matches: list[re.Match], start: int) -> int | None:
    """Start, in `text[start:]`, of the first of `find_phrases(text[start:], phrases)`, given
    `matches`, those of the whole text (only the first position looks back past `start`)."""
    found_family = compiled(phrases)
    if found_family.reach is None:
        found = find_phrases(text[start:], phrases)
        return found[0].start() if found else None
    regex = found_family.regex
    if regex is None:
        return None
    if regex.match(text[start : _reach_point(text, start, found_family.reach)]):
        return 0  # the attempt at `start` alone sees nothing before it: tried on a copy
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
