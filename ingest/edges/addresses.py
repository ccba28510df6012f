"""Our own addresses: which recipients the listener accepts, and what a `+tag` carries."""

from __future__ import annotations

from collections.abc import Iterable


def split_tag(address: str) -> tuple[str, str | None]:
    """ "support+12345@dri.example" → ("support@dri.example", "12345")."""
    address = address.strip().strip("<>").lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address, None
    base, plus, tag = local.partition("+")
    return f"{base}@{domain}", (tag if plus else None)


class AddressBook:
    """The support and urgent addresses, `+tag` forms included."""

    def __init__(self, support: Iterable[str], urgent: Iterable[str] = ()):
        self.support = frozenset(a.lower() for a in support)
        self.urgent = frozenset(a.lower() for a in urgent)

    def accepts(self, address: str) -> bool:
        base, _tag = split_tag(address)
        return base in self.support or base in self.urgent

    def is_urgent(self, address: str) -> bool:
        return split_tag(address)[0] in self.urgent

    @property
    def own(self) -> frozenset[str]:
        return self.support | self.urgent
