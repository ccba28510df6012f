"""A sender's idempotency key, committed in the same transaction as the intake it brings.

A partner that did not get our answer sends the same request again with the same key. The key
is recorded with the intake's rows and the answer its sender was given, in one transaction: a
request whose key is already recorded stores nothing and is answered with the first answer;
concurrent deliveries of one key race at the key's primary key, and only the winner's intake is
stored. A request that could not be made durable leaves no key behind: its retry runs again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Remembered:
    """A stored idempotency record: the body it was for and, once finished, the answer given."""

    body_sha256: str
    status: int | None = None  # None while the first request is still in progress
    body: bytes = b""


@dataclass(frozen=True)
class OnceKey:
    """The key a request came with, and how its answer reads once its intake id is known."""

    partner: str
    key: str
    body_sha256: str
    answer: Callable[[str], tuple[int, bytes]]  # intake id -> (status, body) given and replayed

    def claim(self, intake_id: str) -> KeyClaim:
        return KeyClaim(self.partner, self.key, self.body_sha256, *self.answer(intake_id))


@dataclass(frozen=True)
class KeyClaim:
    """What the journal writes beside the intake: the key and the answer its retries get."""

    partner: str
    key: str
    body_sha256: str
    status: int
    body: bytes
