"""The IMAP edge: each mailbox read in UID order, taken through the funnel, then set aside."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from ingest.edges.addresses import AddressBook
from ingest.edges.imap_config import Mailbox
from ingest.edges.imap_session import Folder, close, open_session, search_new, select, set_aside
from ingest.edges.stored_mail import StoredMailIntake, stored_envelope

log = logging.getLogger("guichet.fetch")

IDLE_RENEW = 600.0  # seconds: IDLE is re-issued well within the 29 minutes of RFC 2177
IDLE_TICK = 1.0  # seconds between checks for a stop request while in IDLE
META_BATCH = 200  # UIDs per FETCH of sizes and dates


class Progress(Protocol):
    """The last UID of a folder already set aside; the store implements it."""

    def last_uid(self, mailbox: str, uidvalidity: int) -> int: ...

    def advance(self, mailbox: str, uidvalidity: int, uid: int) -> None: ...


class NotDurable(Exception):
    """The funnel could not store a message: leave it in place and try again after a pause."""


@dataclass
class Backoff:
    """Capped exponential delays with jitter, so many fetchers never reconnect in step."""

    first: float = 1.0
    cap: float = 60.0
    failures: int = 0

    def next(self) -> float:
        self.failures += 1
        return min(self.cap, self.first * 2 ** (self.failures - 1)) * random.uniform(0.5, 1.0)

    def reset(self) -> None:
        self.failures = 0


@dataclass
class Surroundings:
    """What every fetcher shares: the funnel, the progress store, our addresses, the size limit."""

    stored: StoredMailIntake
    progress: Progress
    addresses: AddressBook
    default_recipient: str
    max_size: int
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


class MailboxFetcher:
    """One mailbox, until asked to stop: reconnects with back-off, never skips a message."""

    def __init__(self, box: Mailbox, around: Surroundings, backoff: Backoff | None = None):
        self.box, self.around = box, around
        self.backoff = backoff or Backoff()
        self.log = {"mailbox": box.name}

    async def run(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            try:
                await self._session(stopping)
            except Exception as exc:  # noqa: BLE001 - a fetcher outlives any one failure
                delay = self.backoff.next()
                level, message = (
                    (logging.ERROR, "login refused: check username and password or token")
                    if isinstance(exc, LoginError)
                    else (logging.WARNING, "mailbox unavailable")
                )
                extra = self.log | {"error": _reason(exc), "retry_in": round(delay, 1)}
                log.log(level, f"{message}; retrying", extra=extra)
                await pause(stopping, delay)

    async def _session(self, stopping: asyncio.Event) -> None:
        client = await asyncio.to_thread(open_session, self.box)
        try:
            folder = await asyncio.to_thread(select, client, self.box)
            log.info("mailbox open", extra=self.log | {"folder": self.box.folder})
            while not stopping.is_set():
                await self._drain(client, folder, stopping)
                self.backoff.reset()
                if not stopping.is_set():
                    await self._wait(client, stopping)
        finally:
            await asyncio.to_thread(close, client)

    async def _drain(self, client: IMAPClient, folder: Folder, stopping: asyncio.Event) -> None:
        """Every message above the recorded progress, oldest first; stops between messages."""
        key = self.box.progress_key
        after = await asyncio.to_thread(self.around.progress.last_uid, key, folder.uidvalidity)
        uids = await asyncio.to_thread(search_new, client, folder, after)
        for start in range(0, len(uids), META_BATCH):
            batch = uids[start : start + META_BATCH]
            meta = await asyncio.to_thread(client.fetch, batch, ["RFC822.SIZE", "INTERNALDATE"])
            for uid in batch:
                if stopping.is_set():
                    return
                if uid in meta:  # absent: expunged by someone else meanwhile
                    await self._one(client, folder, uid, meta[uid])
                await asyncio.to_thread(self.around.progress.advance, key, folder.uidvalidity, uid)

    async def _one(self, client: IMAPClient, folder: Folder, uid: int, meta: dict) -> None:
        where = self.log | {"uid": uid}
        if int(meta.get(b"RFC822.SIZE", 0)) > self.around.max_size:
            how = await asyncio.to_thread(set_aside, client, folder, uid, True)
            log.warning(
                "message over max_message_size left for a person", extra=where | {"how": how}
            )
            return
        data = await asyncio.to_thread(client.fetch, [uid], ["BODY.PEEK[]"])
        raw = data.get(uid, {}).get(b"BODY[]")
        if raw is None:
            return
        envelope = stored_envelope(
            raw,
            self.around.addresses,
            channel="imap",
            received_at=self._received(meta.get(b"INTERNALDATE")),
            source=self.box.source,
            default_recipient=self.box.address or self.around.default_recipient,
        )
        taken = await self.around.stored.take(raw, envelope)
        if not taken.durable:
            raise NotDurable(f"UID {uid} could not be stored")
        how = await asyncio.to_thread(set_aside, client, folder, uid, taken.rejected)
        log.info(
            "message taken",
            extra=where | {"intake_id": taken.intake_id, "outcome": taken.outcome, "how": how},
        )

    def _received(self, internal: datetime | None) -> datetime:
        """When the mailbox received it (INTERNALDATE), never later than now."""
        now = self.around.clock()
        if not isinstance(internal, datetime):
            return now
        internal = internal.astimezone(UTC) if internal.tzinfo else internal.replace(tzinfo=UTC)
        return min(internal, now)

    async def _wait(self, client: IMAPClient, stopping: asyncio.Event) -> None:
        if self.box.idle and client.has_capability("IDLE"):
            await self._idle(client, stopping)
        else:
            await pause(stopping, self.box.poll_interval)

    async def _idle(self, client: IMAPClient, stopping: asyncio.Event) -> None:
        """Wait in IDLE for new mail, a stop request or the renewal time."""
        await asyncio.to_thread(client.idle)
        try:
            renew_at = time.monotonic() + IDLE_RENEW
            while not stopping.is_set() and time.monotonic() < renew_at:
                started = time.monotonic()
                responses = await asyncio.to_thread(client.idle_check, IDLE_TICK)
                if any(_wakes(r) for r in responses):
                    return
                if not responses and time.monotonic() - started < IDLE_TICK / 2:
                    return  # readable with nothing to read: the server hung up (DONE will tell)
        finally:
            await asyncio.to_thread(client.idle_done)


def _reason(exc: Exception) -> str:
    text = exc.args[0] if len(exc.args) == 1 else str(exc)
    text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
    return f"{type(exc).__name__}: {text}"


def _wakes(response: tuple) -> bool:
    """New mail, or the server saying goodbye."""
    return len(response) > 1 and (response[1] == b"EXISTS" or response[0] == b"BYE")


async def pause(stopping: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stopping.wait(), seconds)


async def fetch_all(
    boxes: Sequence[Mailbox], around: Surroundings, stopping: asyncio.Event
) -> None:
    """Run one fetcher per mailbox until `stopping` is set."""
    await asyncio.gather(*(MailboxFetcher(box, around).run(stopping) for box in boxes))
