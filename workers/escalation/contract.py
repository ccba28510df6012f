"""The escalation guidance for a decided request: the account's contract applied to its urgency."""

from __future__ import annotations

from datetime import datetime, timedelta

from ingest.directory import Account, Directory
from ingest.model import Decision
from workers.escalation.guidance import Guidance, guidance_for

# An unknown account gets the most conservative contract: business hours, no promise.
DEFAULT_COVERAGE, DEFAULT_GTI = "business", timedelta(hours=4)


def account_of(decision: Decision, directory: Directory) -> Account | None:
    number = decision.identity.client_number
    return directory.account(number) if number else None


def guidance_for_decision(
    decision: Decision, directory: Directory, received_at: datetime
) -> Guidance:
    account = account_of(decision, directory)
    return guidance_for(
        received_at,
        urgent=decision.urgency.level == "urgent",
        verified=decision.identity.status == "verified",
        coverage=account.coverage if account else DEFAULT_COVERAGE,
        gti=timedelta(minutes=account.gti_minutes) if account else DEFAULT_GTI,
    )
