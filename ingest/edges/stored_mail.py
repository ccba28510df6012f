"""Mail that already sits in a mailbox or an archive: its envelope, and one pass through the funnel."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses, parseaddr
from typing import Protocol

from ingest import metrics
from ingest.analysis import Analysis, Envelope, adjusted
from ingest.edges.addresses import AddressBook
from ingest.intake import Accepted, Intake
from ingest.parser_pool import ParserPool

log = logging.getLogger("guichet.stored")

RECIPIENT_HEADERS = ("X-Original-To", "Delivered-To", "To", "Cc")
MAX_ADDRESS = 254  # longest valid address (RFC 5321 path minus brackets): longer is garbage


class Ledger(Protocol):
    """What the store already holds; the store implements it."""

    def taken(self, raw_sha256: str) -> str | None:
        """The id of an intake with exactly these bytes, or None."""
        ...


@dataclass(frozen=True)
class Taken:
    """What became of one stored message."""

    outcome: str  # "accepted" | "duplicate" | "deferred" (not durable: try again later)
    intake_id: str | None = None
    rejected: bool = False  # the parser could not read it: stored for review all the same
    error: str | None = None

    @property
    def durable(self) -> bool:
        return self.outcome != "deferred"


def header_block(raw: bytes) -> bytes:
    """The bytes before the first empty line: all an envelope is derived from."""
    ends = [i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0]
    return raw[: min(ends) + 2] if ends else raw


def stored_envelope(
    raw: bytes,
    addresses: AddressBook,
    *,
    channel: str,
    received_at: datetime,
    source: str | None = None,
    default_recipient: str | None = None,
) -> Envelope:
    """Sender from Return-Path (else From); recipients: our addresses among the delivery headers."""
    headers = BytesHeaderParser(policy=compat32).parsebytes(header_block(raw))
    return_path = headers.get("Return-Path")
    origin = return_path if return_path is not None else headers.get("From", "")
    sender = parseaddr(str(origin))[1]
    sender = sender if len(sender) <= MAX_ADDRESS else ""  # nobody to answer, not a cut address
    fields = [str(v) for name in RECIPIENT_HEADERS for v in headers.get_all(name, [])]
    ours = [a.lower() for _, a in getaddresses(fields) if a and addresses.accepts(a)]
    fallback = default_recipient or min(addresses.support, default="")
    recipients = list(dict.fromkeys(ours)) or ([fallback] if fallback else [])
    return Envelope(channel, sender, recipients, received_at, source=source)


class StoredMailIntake:
    """Take one stored message in: skip bytes already taken, analyse, commit, enqueue."""

    def __init__(
        self,
        intake: Intake,
        parser: ParserPool,
        ledger: Ledger,
        adjust: Callable[[Analysis], None] | None = None,
    ):
        self.intake, self.parser, self.ledger, self.adjust = intake, parser, ledger, adjust

    async def take(self, raw: bytes, envelope: Envelope) -> Taken:
        known = await asyncio.to_thread(self.ledger.taken, hashlib.sha256(raw).hexdigest())
        if known is not None:
            metrics.duplicate(envelope.channel)
            return Taken("duplicate", known)
        seen: list[Analysis] = []

        async def analyse() -> Analysis:
            analysis = await self.parser.analyse(raw, envelope)
            if self.adjust is not None:
                analysis = adjusted(analysis, self.adjust)
            seen.append(analysis)
            return analysis

        outcome = await self.intake.accept(raw, envelope, analyse)
        error = seen[0].error if seen else None
        if isinstance(outcome, Accepted):
            return Taken("accepted", outcome.intake_id, error is not None, error)
        if outcome.intake_id is not None:  # stored, not queued: the sweeper will queue it
            return Taken("accepted", outcome.intake_id, error is not None, error)
        return Taken("deferred")
