"""What every match of a regular expression starts with: a few literal prefixes, or unknown.

A vocabulary scan tries its alternation only where one of its entries can start; for a plain
phrase that is its text, for a `re:` entry these prefixes (read from the parsed expression, so
they hold for every match). A space in a prefix stands for a run of whitespace (`\\s+`).
"""

from __future__ import annotations

from re import _constants as sre
from re import _parser as sre_parse

MAX_PREFIXES = 256  # more alternatives than this: the entry is tried everywhere instead
_ZERO_WIDTH = (sre.AT, sre.ASSERT, sre.ASSERT_NOT)
_SPACE = [(sre.IN, [(sre.CATEGORY, sre.CATEGORY_SPACE)])]


def prefixes(pattern: str) -> set[str] | None:
    """Literal prefixes such that every match of `pattern` starts with one of them (None when
    a match may start with anything, e.g. `\\s*x` or `.+`)."""
    try:
        parsed = sre_parse.parse(pattern)
    except Exception:
        return None
    if parsed.state.flags & (sre.SRE_FLAG_IGNORECASE | sre.SRE_FLAG_VERBOSE):
        return None
    found, _ = _sequence(list(parsed))
    return found if found and "" not in found else None


def _sequence(items) -> tuple[set[str] | None, bool]:
    """(prefixes, complete): complete when every match of the items is one of the prefixes."""
    heads = {""}
    for op, av in items:
        if op in _ZERO_WIDTH:
            continue
        step, complete = _item(op, av)
        if step is None:
            return (None if heads == {""} else heads), False
        longer = {h + s for h in heads for s in step}
        if len(longer) > MAX_PREFIXES:  # the heads so far still start every match
            return (None if heads == {""} else heads), False
        heads = longer
        if not complete:
            return heads, False
    return heads, True


def _item(op, av) -> tuple[set[str] | None, bool]:
    if op is sre.LITERAL:
        return {chr(av)}, True
    if op is sre.IN and av and all(kind is sre.LITERAL for kind, _ in av) and len(av) <= 8:
        return {chr(code) for _, code in av}, True
    if op is sre.SUBPATTERN:
        return _sequence(list(av[3]))
    if op is sre.BRANCH:
        return _branch(av[1])
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
        return _repeat(*av)
    return None, False


def _branch(branches) -> tuple[set[str] | None, bool]:
    found, complete = set(), True
    for branch in branches:
        step, done = _sequence(list(branch))
        if step is None:
            return None, False
        found |= step
        complete = complete and done
    return found, complete


def _repeat(low: int, high: int, item) -> tuple[set[str] | None, bool]:
    if list(item) == _SPACE:  # `\s+` is the space of a phrase; `\s*` one or nothing
        return ({" "} if low else {"", " "}), True
    step, done = _sequence(list(item))
    if step is None:
        return None, False
    if (low, high) == (0, 1):
        return step | {""}, done
    return (step, False) if low >= 1 else (None, False)
