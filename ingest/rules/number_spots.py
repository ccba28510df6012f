"""A 5-digit candidate in one zone of a message, and the bounded windows the rules read around it.

Every rule about a spot reads a few characters around it, never its whole line: a line can hold
thousands of numbers, and reading the line once per number would cost its length squared. The
windows reach `WINDOW` characters: a keyword, an address word or a town further away than that
on the same line says nothing about this number.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from functools import lru_cache

WINDOW = 200


@lru_cache(maxsize=16)
def _breaks(text: str) -> list[int]:
    """Offsets of the line breaks of a zone, found once per zone."""
    found, at = [], text.find("\n")
    while at >= 0:
        found.append(at)
        at = text.find("\n", at + 1)
    return found


@dataclass(frozen=True)
class Spot:
    """One 5-digit candidate in one zone of the message."""

    zone: str
    text: str
    start: int
    end: int

    @property
    def number(self) -> str:
        return self.text[self.start : self.end].replace(" ", "")

    def before(self, size: int = 60) -> str:
        return self.text[max(0, self.start - size) : self.start]

    def after(self, size: int = 60) -> str:
        return self.text[self.end : self.end + size]

    def line_span(self) -> tuple[int, int]:
        """(start, end) of the number's own line in `text`."""
        breaks = _breaks(self.text)
        i = bisect_left(breaks, self.start)
        return (breaks[i - 1] + 1 if i else 0), (breaks[i] if i < len(breaks) else len(self.text))

    def lines(self) -> tuple[str, str, str | None]:
        """(end of the previous line, own line up to the number, own line after the number),
        each within `WINDOW` characters; the last is None when the line goes on past that."""
        first, last = self.line_span()
        stop = first - 1  # the previous line ends there
        previous = ""
        if first and self.start - stop <= WINDOW:
            breaks = _breaks(self.text)
            i = bisect_left(breaks, stop)
            previous = self.text[max(breaks[i - 1] + 1 if i else 0, stop - WINDOW) : stop]
        before = self.text[max(first, self.start - WINDOW) : self.start]
        after = self.text[self.end : last] if last - self.end <= WINDOW else None
        return previous, before, after
