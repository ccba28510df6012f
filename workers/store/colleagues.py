"""Who may add to a ticket besides its requester: a colleague at the same organisation, or a declared contact of its account."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ingest.config_files import load
from ingest.model import Identity
from workers.store.schema import ContactRow, TicketRow

PROVIDERS_FILE = "mailbox_providers"


@lru_cache(maxsize=1)
def _suffixes():
    # Imported here: the list takes a quarter of a second to load, and only workers need it.
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@lru_cache(maxsize=1)
def public_providers() -> frozenset[str]:
    """Domains of `config/mailbox_providers.toml`: anyone may have an address there."""
    return frozenset(d.strip().lower() for d in load(PROVIDERS_FILE).get("domains", []))


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(".").lower()


@lru_cache(maxsize=4096)
def organisation(domain: str) -> str | None:
    """The registrable domain ("mail.armor-logistique.fr" → "armor-logistique.fr"), or None
    when the address belongs to nobody in particular (a public mailbox provider, a bare suffix)."""
    if not domain or "." not in domain:
        return None
    registrable = _suffixes().privatesuffix(domain)
    if registrable is None or _is_public_provider(domain):
        return None
    return registrable


def _is_public_provider(domain: str) -> bool:
    providers = public_providers()
    labels = domain.split(".")
    return any(".".join(labels[i:]) in providers for i in range(len(labels) - 1))


def same_organisation(a: str, b: str) -> bool:
    """Two addresses at one organisation's own domain (never a public mailbox provider)."""
    org = organisation(domain_of(a))
    return org is not None and org == organisation(domain_of(b))


def declared_contact(session: Session, client_number: str | None, address: str) -> bool:
    """`address` is a contact e-mail declared on the account `client_number`."""
    if not client_number or not address:
        return False
    found = session.scalar(
        select(ContactRow.id)
        .where(ContactRow.client_number == client_number)
        .where(func.lower(ContactRow.email) == address.lower())
        .limit(1)
    )
    return found is not None


def may_join(session: Session, ticket: TicketRow, identity: Identity, sender: str) -> str | None:
    """Why `sender` may add to `ticket` ("requester", "same-account", "declared-contact",
    "colleague"), or None: the false-merge guard keeps strangers off other customers' tickets."""
    requester = (ticket.requester or "").lower()
    sender = (sender or "").lower()
    if sender and sender == requester:
        return "requester"
    verified = identity.status == "verified" and identity.client_number
    if verified and identity.client_number == ticket.client_number:
        return "same-account"
    if ticket.account_known and declared_contact(session, ticket.client_number, sender):
        return "declared-contact"
    if sender and requester and same_organisation(sender, requester):
        return "colleague"
    return None
