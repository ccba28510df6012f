"""What sender trust allows: which acknowledgement a request gets, and whether its page is limited.

One place for the policy (DESIGN §5, docs/security.md); `filing` asks it when it records an
acknowledgement or a page, `acknowledge` when it renders, `guichet explain` to show it.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.model import Decision
from ingest.rules.sender_trust import FAILED, TRUSTED

FULL, MINIMAL, NONE = "full", "minimal", "none"
RECEIVED, IDENTIFIED = "received", "identified"


@dataclass(frozen=True)
class AckChoice:
    variant: str  # "full" | "minimal" | "none"
    trust: str
    why: str

    @property
    def skip_reason(self) -> str | None:
        """The acknowledgement row's skip reason when no acknowledgement goes out."""
        return f"sender-{self.trust}" if self.variant == NONE else None


def ack_choice(decision: Decision, kind: str = RECEIVED) -> AckChoice:
    """Declared or authenticated: the full acknowledgement. Unknown: a minimal one (ticket
    number, what to send, general guidance; a short clean excerpt of the subject, nothing of
    the text, no contact named, whatever the identity). Failed: none. A confirmation that a
    reply identified the requester names the account: only to a trusted sender."""
    trust, why = decision.identity.sender_trust, decision.identity.trust_why
    if trust == FAILED:
        return AckChoice(NONE, trust, f"sender failed ({why}): ticket filed, nobody answered")
    if trust in TRUSTED:
        return AckChoice(FULL, trust, f"sender {trust} ({why})")
    if kind == IDENTIFIED:
        why = "an identity confirmation goes only to a declared or authenticated sender"
        return AckChoice(NONE, trust, f"sender {trust}: {why}")
    return AckChoice(MINIMAL, trust, f"sender {trust} ({why}): nothing of the request echoed")


def page_is_limited(decision: Decision) -> bool:
    """A page a sender nobody has shown to be the customer's triggers: marked and rate-limited.
    Declared and authenticated senders are never limited."""
    return decision.identity.sender_trust not in TRUSTED
