"""Stopping the SMTP listener cleanly: the open sessions, and how they are drained on SIGTERM."""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from ingest.edges import smtp_replies as replies

log = logging.getLogger("guichet.smtp")
POLL = 0.05  # seconds between two looks at the sessions while draining
LINGER = 2.0  # seconds a session that just finished its DATA gets to send QUIT


class Session(Protocol):
    busy: int  # commands in progress (DATA included, from 354 to the final reply)
    data_done_at: float | None  # loop time its last DATA ended

    def close_with(self, reply: str) -> None: ...


class Sessions:
    """The listener's open sessions; `drain` finishes the ones in hand and closes the rest."""

    def __init__(self):
        self.open: set[Session] = set()
        self.shutting_down = False

    def add(self, session: Session) -> None:
        self.open.add(session)

    def discard(self, session: Session) -> None:
        self.open.discard(session)

    async def drain(self, bound: float) -> int:
        """Refuse new commands (421 4.3.2), let commands in progress finish — a DATA in hand
        within `bound` seconds — then close everything; returns how many were cut at the bound."""
        self.shutting_down = True
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + bound
        while self.open and loop.time() < deadline:
            now = loop.time()
            for session in list(self.open):
                if not session.busy and not _just_finished(session, started, now):
                    session.close_with(replies.SHUTTING_DOWN)
                    self.discard(session)
            await asyncio.sleep(POLL)
        cut = len(self.open)
        for session in list(self.open):
            session.close_with(replies.DRAIN_TIMEOUT)
        if cut:
            log.warning("sessions cut at the shutdown bound", extra={"count": cut})
        return cut


def _just_finished(session: Session, started: float, now: float) -> bool:
    done = session.data_done_at
    return done is not None and done >= started and now - done < LINGER
