"""How far the sender is shown to be who the mail says: declared, authenticated, unknown or failed.

The procedure's identity (client number + declared name) is still the identity; trust only
decides who may receive what (the acknowledgement's variant) and who may wake whom (pages).
"""

from __future__ import annotations

from ingest.directory import Account
from ingest.model import Content, Finding

FIELD = "sender_trust"
DECLARED, AUTHENTICATED, UNKNOWN, FAILED = "declared", "authenticated", "unknown", "failed"
# Trust levels an outsider cannot reach by writing a mail: full acknowledgements, unlimited pages.
TRUSTED = (DECLARED, AUTHENTICATED)


def normalise_address(address: str) -> str:
    """One mailbox, however it is written: case folded, `+tag` dropped, angle brackets gone.

    `Victim+1@Example.ORG` and `victim@example.org` are the same mailbox for every limit and
    every comparison with a declared address."""
    address = (address or "").strip().strip("<>").strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    return f"{local.split('+', 1)[0]}@{domain.rstrip('.')}"


def domain_of(address: str) -> str:
    return normalise_address(address).rpartition("@")[2]


def _declared(content: Content, account: Account | None) -> str | None:
    """The address declared on the identified account: the envelope sender, or the From
    address when the envelope sender is in the same domain (or empty, as for a webhook).

    The acknowledgement goes to the envelope sender: a declared From with a stranger's
    envelope sender (a forger who knows a contact's address) must not earn that stranger the
    full acknowledgement."""
    if account is None:
        return None
    declared = {normalise_address(c.email) for c in account.contacts if c.email}
    envelope, author = content.envelope_sender, content.from_address
    if envelope and normalise_address(envelope) in declared:
        return envelope
    same_domain = not envelope or domain_of(envelope) == domain_of(author)
    if author and same_domain and normalise_address(author) in declared:
        return author
    return None


def _failed(auth: dict, authenticated: bool | None) -> str | None:
    if auth.get("dmarc") == "fail":
        return "dmarc=fail"
    if auth.get("spf") == "fail" and not authenticated:
        return "spf=fail (hard fail) and nothing else passes"
    return None


def sender_trust(
    content: Content, account: Account | None, auth: dict, authenticated: bool | None
) -> tuple[str, Finding]:
    """(trust, finding): failed first (a forged declared address must not pass as declared)."""
    failed = _failed(auth, authenticated)
    declared = _declared(content, account)
    if failed:
        trust, why = FAILED, failed
    elif content.channel == "webhook":
        trust, why = AUTHENTICATED, "a partner's signed request (the partner vouches for it)"
    elif declared:
        trust, why = DECLARED, f"{declared} is declared on account {account.client_number}"
    elif authenticated:
        trust, why = AUTHENTICATED, "SPF or DKIM pass aligned with the From domain"
    else:
        trust, why = UNKNOWN, "no declared address, no aligned SPF/DKIM pass"
    return trust, Finding("sender-trust", FIELD, trust, why)
