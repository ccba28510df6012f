"""Run every intake rule on one request, in a fixed order, and gather the decision."""

from __future__ import annotations

from datetime import datetime

from ingest.directory import Directory, MemoryDirectory
from ingest.model import Content, Decision
from ingest.reading.phrase_starts import warming_up
from ingest.rules.category import categorize
from ingest.rules.identity import identify
from ingest.rules.language import detect_language
from ingest.rules.suppression import suppress
from ingest.rules.urgency import classify_urgency


def decide(
    content: Content,
    directory: Directory,
    *,
    received_at: datetime,
    urgent_addresses=(),
    own_addresses=(),
    trusted_authserv_ids=(),
    raw: bytes | None = None,
) -> Decision:
    """Identification, then urgency (which needs the account), category, language, suppression."""
    decision = Decision(received_at=received_at)
    identity, found = identify(
        content, directory, trusted_authserv_ids=trusted_authserv_ids, raw=raw
    )
    decision.identity, decision.trail = identity, list(found)
    account = directory.account(identity.client_number) if identity.client_number else None
    decision.urgency, found = classify_urgency(content, account, urgent_addresses=urgent_addresses)
    decision.trail += found
    decision.category, found = categorize(content)
    decision.trail += found
    decision.language, found = detect_language(content)
    decision.trail += found
    decision.suppression, found = suppress(content, own_addresses=own_addresses)
    decision.trail += found
    return decision


# A mail that walks every rule: history, signature, numbers, urgency and category words.
_WARM_UP = Content(
    "smtp",
    subject="RE: Panne urgente client 20481",
    text=(
        "Bonjour,\nle site www.exemple.fr est en panne depuis ce matin mais ce n'est pas grave ?\n"
        "Si le serveur tombe, que faire ? Facture 55123, 29200 BREST, tel 02 98 12 34 56.\n"
        "2025-03-03 10:12:01 mx1 postfix/smtp[31207]: status=deferred\n\n"
        "Cordialement\nJean Dupont\n\nLe lun. 3 mars 2025 à 10:12, X <x@y> a écrit :\n> down"
    ),
    from_name="Jean Dupont",
    envelope_sender="warm-up@example.org",
)


def warm_up() -> None:
    """Compile every vocabulary scan now, so the first mail of a process is not charged for it."""
    with warming_up():
        decide(_WARM_UP, MemoryDirectory(()), received_at=datetime.now().astimezone())
