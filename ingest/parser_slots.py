"""Who parses next: parser slots shared fairly between senders, one kept for urgent mail.

A job waits here, without any time limit running, until a parser is free for it; only then is
it handed to a parser, so the parse time limit counts the parse alone. Four rules pick it:

* a source (a client IP, a webhook partner, or the sender of mail relayed by an exempt MTA)
  that holds a parser gets another one only when no other source's job waits for it: the job
  of a source holding none goes first, whatever came before;
* a source whose last parse was slow (over `QUICK` seconds) holds one parser at most: a flood
  of slow mail from one place costs one parser, and a newcomer waits for a parser at most one
  quick parse, or once one slow parse (the one that showed the source slow);
* priority jobs (mail to the urgent addresses, an urgent subject from a declared contact, a
  partner's critical alert) go before routine ones, in arrival order;
* `reserved` slots take priority jobs only, and only a source's first. Priority order alone
  would still leave an urgent mail waiting for a parser busy with slow routine mail (up to the
  time limit); a reserved slot means one is free for it at once, and costs one idle process
  while nothing urgent comes.

Without the first two, one parser per source (the rule before them) left every parser but one
idle while a single partner or relay sent a burst: its requests queued behind each other.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from dataclasses import dataclass, field

# A parse longer than this makes its source "slow" until one of its parses is quick again.
# Ordinary parses take milliseconds (tens for a large mail); the time limit is seconds.
QUICK = 0.25
SLOW_REMEMBERED = 4096  # sources remembered as slow, the oldest forgotten first (memory bound)


@dataclass(order=True)
class _Waiting:
    rank: tuple[int, int]  # (0 priority / 1 routine, arrival)
    source: str = field(compare=False)
    ready: asyncio.Future = field(compare=False)


class ParserSlots:
    """`acquire` a slot before handing a job to a parser, `release` it once the parser is done."""

    def __init__(self, routine: int, reserved: int):
        self.free = {"routine": max(1, routine), "reserved": max(0, reserved)}
        self.held: Counter[str] = Counter()  # parsers each source holds
        self.slow: dict[str, None] = {}  # sources whose last parse was slow, oldest first
        self.waiting: list[_Waiting] = []
        self._arrivals = itertools.count()

    async def acquire(self, source: str, priority: bool) -> str:
        """The kind of slot granted ("routine" or "reserved"), once this job's turn has come."""
        ready = asyncio.get_running_loop().create_future()
        entry = _Waiting((0 if priority else 1, next(self._arrivals)), source, ready)
        self.waiting.append(entry)
        self._dispatch()
        try:
            return await ready
        except asyncio.CancelledError:
            if entry in self.waiting:
                self.waiting.remove(entry)
            elif ready.done() and not ready.cancelled():
                self.release(source, ready.result())
            raise

    def at_once(self, source: str) -> bool:
        """Whether a job from `source` would start now, whatever its priority: nobody waits, a
        routine parser is free, and its source holds none or is quick. Its priority then need
        not be worked out (`ParserPool`): it orders nothing."""
        return not self.waiting and self.free["routine"] > 0 and self._may_take_more(source)

    def release(self, source: str, slot: str, seconds: float | None = None) -> None:
        """`slot` given back by `source`'s job, whose parse took `seconds` (None: it never
        reached a parser)."""
        self.free[slot] += 1
        self.held[source] -= 1
        if self.held[source] <= 0:
            del self.held[source]
        if seconds is not None:  # a parse that ran tells whether its source is slow now
            self.slow.pop(source, None)  # (re-added last: the oldest is forgotten first)
            if seconds > QUICK:
                self.slow[source] = None
                if len(self.slow) > SLOW_REMEMBERED:
                    del self.slow[next(iter(self.slow))]
        self._dispatch()

    def _may_take_more(self, source: str) -> bool:
        return source not in self.held or source not in self.slow

    def _dispatch(self) -> None:
        # First the jobs of sources holding no parser, then more parsers for quick sources.
        for more in (False, True):
            for entry in sorted(self.waiting):
                if entry.source in self.held and not (more and self._may_take_more(entry.source)):
                    continue
                slot = self._slot_for(entry, first=entry.source not in self.held)
                if slot is None:
                    continue
                self.waiting.remove(entry)
                self.free[slot] -= 1
                self.held[entry.source] += 1
                entry.ready.set_result(slot)

    def _slot_for(self, entry: _Waiting, first: bool) -> str | None:
        if entry.rank[0] == 0 and first and self.free["reserved"]:
            return "reserved"
        return "routine" if self.free["routine"] else None
