"""Combine client number, contact name and sender checks into the request's Identity."""

from __future__ import annotations

from ingest.directory import Account, Directory
from ingest.model import Content, Finding, Identity
from ingest.reading.text_split import split_text
from ingest.rules.client_number import find_client_number
from ingest.rules.contact_name import match_contact
from ingest.rules.sender_auth import authenticate
from ingest.rules.sender_trust import normalise_address, sender_trust

# What an unverified acknowledgement asks for: always both items, so that a wrong number and a
# right number with a wrong name read the same (no account enumeration).
ASK_WHEN_UNVERIFIED = ("client_number", "contact_name")


def _sender_declared(content: Content, account: Account | None) -> bool:
    """The From address is a declared contact's address (compared normalised: case, +tag)."""
    sender = normalise_address(content.from_address)
    return bool(
        account
        and sender
        and any(c.email and normalise_address(c.email) == sender for c in account.contacts)
    )


def _status(identity: Identity) -> Finding:
    """The outward verdict; the precise reason stays in this internal `why` only."""
    if identity.status == "verified":
        why = f"number {identity.client_number} and declared contact {identity.contact_name!r}"
    elif identity.client_number is None:
        why = "no client number given"
    elif not identity.account_known:
        why = f"number {identity.client_number} is not in the directory"
    else:
        why = f"number {identity.client_number} is known but no declared contact name matched"
    return Finding("identity", "status", identity.status, why)


def identify(
    content: Content,
    directory: Directory,
    *,
    trusted_authserv_ids=(),
    raw: bytes | None = None,
) -> tuple[Identity, list[Finding]]:
    """Who is asking: verified only with a directory number and a contact declared on it."""
    split = split_text(content.text)
    number, trail = find_client_number(content, split, known=lambda n: bool(directory.account(n)))
    account = directory.account(number.number) if number else None
    name, found = match_contact(content, split, account)
    auth, authenticated, auth_found = authenticate(
        content, trusted_authserv_ids=trusted_authserv_ids, raw=raw
    )
    verified = account is not None and name is not None
    trust, trust_found = sender_trust(content, account, auth, authenticated)
    identity = Identity(
        status="verified" if verified else "unverified",
        client_number=number.number if number else None,
        contact_name=name.contact.name if name else None,
        number_source=number.where if number else None,
        name_source=name.candidate.source if name else None,
        account_known=account is not None,
        sender_declared=_sender_declared(content, account),
        sender_authenticated=authenticated,
        auth=auth,
        sender_trust=trust,
        trust_why=trust_found.why,
        missing=[] if verified else list(ASK_WHEN_UNVERIFIED),
    )
    return identity, [*trail, *found, *auth_found, trust_found, _status(identity)]
