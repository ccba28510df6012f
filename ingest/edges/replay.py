"""Replay an archive through the funnel: resumable, deduplicated, unacknowledged unless asked."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import Protocol

from ingest.analysis import Analysis, Envelope
from ingest.edges.addresses import AddressBook
from ingest.edges.archives import Archive, ArchivedMail
from ingest.edges.stored_mail import StoredMailIntake, Taken, header_block, stored_envelope
from ingest.model import Finding

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)  # a Date before this is a broken clock, not history
SKEW = timedelta(days=1)  # a Date further in the future than this is not believed either
CHECKPOINT_EVERY = 25  # messages between two checkpoint commits (duplicates cover the gap)
RETRIES = (1, 2, 4, 8, 16)  # seconds between attempts when a message cannot be stored


class Checkpoints(Protocol):
    """How far the replay of an archive went; the store implements it."""

    def load(self, path: str) -> tuple[int, str] | None: ...

    def save(self, path: str, position: int, last_sha256: str) -> None: ...


class ReplayStopped(Exception):
    """A message could not be stored after several attempts; what was done is checkpointed."""


@dataclass
class Tally:
    taken: int = 0
    duplicates: int = 0
    rejected: int = 0  # taken, but for review: the parser could not read them
    interrupted: bool = False  # asked to stop before the end; the checkpoint says where

    def add(self, taken: Taken) -> None:
        if taken.outcome == "duplicate":
            self.duplicates += 1
        else:
            self.taken += 1
            self.rejected += taken.rejected


def archive_adjustment(acknowledge: bool) -> Callable[[Analysis], None]:
    """What replay changes in a decision: no acknowledgement unless asked; the trail also says
    that replayed mail never pages (the workers page nothing for the "replay" channel)."""

    def adjust(analysis: Analysis) -> None:
        decision = analysis.decision
        decision.trail.append(
            Finding("replay", "page", False, "mail replayed from an archive never pages on-call")
        )
        if not acknowledge and decision.suppression.acknowledge:
            decision.suppression.acknowledge = False
            decision.suppression.skip_reason = "replayed-archive"
            decision.trail.append(
                Finding("replay", "acknowledge", False, "replayed archive: no acknowledgement")
            )

    return adjust


def received_time(mail: ArchivedMail, now: datetime) -> datetime:
    """The message's own Date; else the archive's time for it; else now — never after now."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(header_block(mail.raw))
    moment = header_date(headers.get("Date")) or mail.stamp
    if moment is None or not EARLIEST <= moment <= now + SKEW:
        moment = mail.stamp if mail.stamp and EARLIEST <= mail.stamp <= now + SKEW else now
    return min(moment, now)


def header_date(value) -> datetime | None:
    """An RFC 5322 Date as an aware datetime ("-0000": UTC); None when unreadable."""
    if value is None:
        return None
    try:
        moment = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def replay_envelope(
    archive: Archive,
    mail: ArchivedMail,
    addresses: AddressBook,
    default_recipient: str,
    now: datetime,
) -> Envelope:
    """Channel "replay", source "replay:<archive file name>", received when the mail says."""
    return stored_envelope(
        mail.raw,
        addresses,
        channel="replay",
        received_at=received_time(mail, now),
        source=f"replay:{archive.path.name}"[:200],
        default_recipient=default_recipient,
    )


def digest(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def resume_point(archive: Archive, checkpoints: Checkpoints) -> int:
    """Where the last replay of this archive stopped — if it is still the same archive."""
    saved = checkpoints.load(str(archive.path))
    if saved is None or saved[0] <= 0 or saved[0] > len(archive):
        return 0
    position, last = saved
    before = next(archive.mails(position - 1), None)
    return position if before is not None and digest(before.raw) == last else 0


class Replay:
    """One archive, message by message, from its checkpoint."""

    def __init__(
        self,
        stored: StoredMailIntake,
        checkpoints: Checkpoints,
        addresses: AddressBook,
        default_recipient: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self.stored, self.checkpoints, self.clock = stored, checkpoints, clock
        self.addresses, self.default_recipient = addresses, default_recipient

    async def run(
        self,
        archive: Archive,
        start: int,
        seen: Callable[[ArchivedMail, Taken], None],
        stopping: asyncio.Event | None = None,
    ) -> Tally:
        """Take every message from `start` on; `seen` is told of each (progress, listing).
        When `stopping` is set, the message in hand is finished and the checkpoint saved."""
        tally, done = Tally(), (start, "")
        try:
            for mail in archive.mails(start):
                if stopping is not None and stopping.is_set():
                    tally.interrupted = True
                    break
                taken = await self._take(archive, mail)
                tally.add(taken)
                seen(mail, taken)
                done = (mail.position + 1, digest(mail.raw))
                if done[0] % CHECKPOINT_EVERY == 0:
                    await asyncio.to_thread(self.checkpoints.save, str(archive.path), *done)
        finally:
            if done[1]:
                await asyncio.to_thread(self.checkpoints.save, str(archive.path), *done)
        return tally

    async def _take(self, archive: Archive, mail: ArchivedMail) -> Taken:
        envelope = replay_envelope(
            archive, mail, self.addresses, self.default_recipient, self.clock()
        )
        for pause in (*RETRIES, None):
            taken = await self.stored.take(mail.raw, envelope)
            if taken.durable:
                return taken
            if pause is None:
                break
            await asyncio.sleep(pause)
        raise ReplayStopped(f"{mail.label} could not be stored (database or directory unavailable)")
