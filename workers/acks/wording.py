"""Facts the acknowledgement's wording depends on: did the customer ask for urgent handling in so many words, and which team is alerted."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from ingest.config_files import load
from ingest.model import Urgency
from ingest.reading.normalize import fold
from workers.escalation.calendar import support_open
from workers.escalation.policy import Policy

# Signals that are a request in themselves: the urgent address, a partner's declared severity.
ASKING_RULES = ("urgent-address", "declared-severity")
WORDING_RULE = "severity-words"  # the customer's own words; some only describe the problem
DESCRIPTIVE_KEY = "descriptive_severity_terms"


@lru_cache(maxsize=1)
def _descriptive() -> frozenset[str]:
    return frozenset(
        fold(t) for t in load("vocabulary").get("urgency", {}).get(DESCRIPTIVE_KEY, ())
    )


def asked_explicitly(urgency: Urgency) -> bool:
    """The customer asked for urgent handling ("urgent", "au plus vite", the urgent address),
    as opposed to describing a blocking problem ("messagerie bloquée", "c'est critique")."""
    if not urgency.requested:
        return False
    for signal in urgency.signals:
        rule, _, value = signal.partition(":")
        if rule in ASKING_RULES:
            return True
        if rule == WORDING_RULE and fold(" ".join(value.split())) not in _descriptive():
            return True
    return False


def team_alerted(moment: datetime | None, policy: Policy) -> str | None:
    """ "support" when the support desk is open at `moment`, else "oncall" (astreinte)."""
    if moment is None:
        return None
    return "support" if support_open(moment, policy=policy) else "oncall"
