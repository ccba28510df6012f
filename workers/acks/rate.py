"""Budgets counted atomically in Redis across all workers: acknowledgements and unknown-sender pages.

Acknowledgements: at most `ack_rate_limit` per mailbox per `ack_rate_period`, the mailbox
normalised (case, `+tag`: victim+1@ and victim+2@ share one budget). Minimal acknowledgements
(to senders nobody has shown to be a customer's) also count against a budget per recipient
domain and a global one per hour, so that a flood of forged mail cannot make guichet a
backscatter source, nor spend the budget of real customers.

Pages that an unknown sender triggers: per account and in all, per hour.
"""

from __future__ import annotations

import logging

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from ingest.rules.sender_trust import domain_of, normalise_address

HOUR = 3600
log = logging.getLogger("guichet.budgets")


def storage_uri(broker_url: str) -> str:
    """The limits library names a Redis unix socket "redis+unix://"."""
    return (
        "redis+unix://" + broker_url.removeprefix("unix://")
        if broker_url.startswith("unix://")
        else broker_url
    )


class Budgets:
    """Named moving windows, each hit atomically in Redis (workers file in parallel)."""

    def __init__(self, broker_url: str, windows: dict[str, tuple[int, int]]):
        self.items = {name: RateLimitItemPerSecond(n, s) for name, (n, s) in windows.items()}
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri(broker_url)))

    def take(self, keys: dict[str, str]) -> str | None:
        """None when every window had room (one slot taken in each), else the first full one.
        Windows are taken in order: a refusal by a later one leaves the earlier slots spent,
        which only ever errs on the side of sending less."""
        for name, key in keys.items():
            if not self.limiter.hit(self.items[name], "guichet-" + name, key):
                # each refusal counted: in the log here, on the ticket by the caller
                log.warning("budget full: refused", extra={"budget": name, "key": key})
                return name
        return None


class AckRateLimiter:
    def __init__(
        self, broker_url: str, limit: int, period: int, domain_limit: int, global_limit: int
    ):
        windows = {
            "ack-address": (limit, period),
            "ack-domain": (domain_limit, HOUR),
            "ack-global": (global_limit, HOUR),
        }
        self.budgets = Budgets(broker_url, windows)

    def refusal(self, recipient: str, minimal: bool = False) -> str | None:
        """None (one acknowledgement allowed and counted), "rate-limited" (the mailbox's budget),
        or "rate-limited:domain" / "rate-limited:global" (minimal acknowledgements only)."""
        keys = {"ack-address": normalise_address(recipient)}
        if minimal:
            keys |= {"ack-domain": domain_of(recipient), "ack-global": "all"}
        full = self.budgets.take(keys)
        if full is None:
            return None
        return "rate-limited" if full == "ack-address" else f"rate-limited:{full[4:]}"


class PageRateLimiter:
    """Pages triggered by a sender of unknown trust: per account and in all, per hour."""

    def __init__(self, broker_url: str, per_account: int, total: int):
        self.budgets = Budgets(
            broker_url, {"page-account": (per_account, HOUR), "page-all": (total, HOUR)}
        )

    def refusal(self, account: str | None) -> str | None:
        full = self.budgets.take({"page-account": account or "none", "page-all": "all"})
        return f"page-limited:{full.removeprefix('page-')}" if full else None
