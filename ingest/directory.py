"""The customer directory as the intake rules see it: accounts, contracts, declared contacts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

URGENT_ELIGIBLE_SERVICES = frozenset({"dedicated_server", "dedicated_service", "transit"})


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None = None


@dataclass(frozen=True)
class Account:
    client_number: str  # exactly 5 digits
    company: str
    contacts: tuple[Contact, ...] = ()
    services: frozenset[str] = field(default_factory=frozenset)
    coverage: str = "business"  # "business" | "24/7"
    gti_minutes: int = 240

    @property
    def urgent_eligible(self) -> bool:
        return bool(self.services & URGENT_ELIGIBLE_SERVICES)


class DirectoryUnavailable(Exception):
    """The directory cannot be read right now (database down): the request must be retried, not judged."""


class Directory(Protocol):
    """Read access to the directory; the store implements it, tests use MemoryDirectory."""

    def account(self, client_number: str) -> Account | None: ...

    def accounts_for_email(self, email: str) -> list[Account]: ...


class MemoryDirectory:
    """A directory held in memory (tests, `explain` on a snapshot)."""

    def __init__(self, accounts: Iterable[Account] = ()):
        self._by_number = {a.client_number: a for a in accounts}

    def account(self, client_number: str) -> Account | None:
        return self._by_number.get(client_number)

    def accounts_for_email(self, email: str) -> list[Account]:
        email = email.lower()
        return [
            a
            for a in self._by_number.values()
            if any(c.email and c.email.lower() == email for c in a.contacts)
        ]
