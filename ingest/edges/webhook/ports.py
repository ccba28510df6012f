"""What the webhook edge needs from the outside world, as protocols the workers side implements."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from ingest.analysis import Analysis, Envelope
from ingest.edges.addresses import AddressBook
from ingest.idempotency_keys import Remembered
from ingest.intake import Intake
from ingest.model import Content

PARTNER_NAME = r"^[a-z0-9][a-z0-9_-]{0,62}$"  # also a URL segment and an e-mail local part


@dataclass(frozen=True)
class Partner:
    """A partner system as the edge sees it: its active secrets (plain text) and allowed accounts."""

    name: str
    secrets: tuple[str, ...]
    clients: frozenset[str] = frozenset()  # empty: every account

    def allows(self, client_number: str | None) -> bool:
        return not self.clients or client_number is None or client_number in self.clients


class Partners(Protocol):
    def find(self, name: str) -> Partner | None:
        """The partner with its active secrets, or None (unknown or revoked)."""
        ...

    def names(self) -> list[str]:
        """Names of the partners not revoked."""
        ...


class Idempotency(Protocol):
    """Claims and answers come in batches (those of concurrent requests, written together)."""

    def begin_many(self, claims: list[tuple[str, str, str]]) -> list[Remembered | None]:
        """Per (partner, key, body_sha256): claim the key (None), or what is already recorded
        under it."""
        ...

    def finish_many(self, answers: list[tuple[str, str, int, bytes]]) -> list[None]:
        """Record each (partner, key, status, body) answer, to replay to a retry."""
        ...

    def release(self, partner: str, key: str) -> None:
        """Forget a claim whose request did not become durable, so a retry may proceed."""
        ...


class Statuses(Protocol):
    def status(self, partner: str, intake_id: str) -> dict | None:
        """`RequestStatus` fields for one intake of this partner, or None."""
        ...


Probe = Callable[[], Awaitable[None]]  # raises when its dependency is unreachable
AnalyseMail = Callable[[bytes, Envelope], Awaitable[Analysis]]
AnalyseContent = Callable[[Content, Envelope, bytes, str], Awaitable[Analysis]]


@dataclass
class Services:
    """Everything the app's routes use; built by `workers.running.web_process` (or a test)."""

    intake: Intake
    analyse_content: AnalyseContent  # the parser pool's `analyse_content`, off the event loop
    analyse_mail: AnalyseMail  # the parser pool's `analyse`, exactly as the SMTP edge uses it
    partners: Partners
    idempotency: Idempotency
    statuses: Statuses
    addresses: AddressBook
    probes: dict[str, Probe] = field(default_factory=dict)
