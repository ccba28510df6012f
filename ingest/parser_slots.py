"""Who parses next: parser slots shared fairly between senders, one kept for urgent mail.

A job waits here, without any time limit running, until a parser is free for it; only then is
it handed to a parser, so the parse time limit counts the parse alone. Three rules pick it:

* one source (a client IP, a webhook partner, or the sender of mail relayed by an exempt MTA)
  holds at most one parser at a time: a flood of slow mail from one place costs one parser;
* priority jobs (mail to the urgent addresses, an urgent subject from a declared contact, a
  partner's critical alert) go before routine ones, in arrival order;
* `reserved` slots take priority jobs only. Priority order alone would still leave an urgent
  mail waiting for a parser busy with slow routine mail (up to the time limit); a reserved slot
  means one is free for it at once, and costs one idle process while nothing urgent comes.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field


@dataclass(order=True)
class _Waiting:
    rank: tuple[int, int]  # (0 priority / 1 routine, arrival)
    source: str = field(compare=False)
    ready: asyncio.Future = field(compare=False)


class ParserSlots:
    """`acquire` a slot before handing a job to a parser, `release` it once the parser is done."""

    def __init__(self, routine: int, reserved: int):
        self.free = {"routine": max(1, routine), "reserved": max(0, reserved)}
        self.busy_sources: set[str] = set()
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
        """Whether a job from `source` would start now, whatever its priority: nobody waits,
        its source holds no parser and a routine one is free. Its priority then need not be
        worked out (`ParserPool`): it orders nothing."""
        return not self.waiting and source not in self.busy_sources and self.free["routine"] > 0

    def release(self, source: str, slot: str) -> None:
        self.free[slot] += 1
        self.busy_sources.discard(source)
        self._dispatch()

    def _dispatch(self) -> None:
        for entry in sorted(self.waiting):
            if entry.source in self.busy_sources:
                continue
            slot = self._slot_for(entry)
            if slot is None:
                continue
            self.waiting.remove(entry)
            self.free[slot] -= 1
            self.busy_sources.add(entry.source)
            entry.ready.set_result(slot)

    def _slot_for(self, entry: _Waiting) -> str | None:
        if entry.rank[0] == 0 and self.free["reserved"]:
            return "reserved"
        return "routine" if self.free["routine"] else None
