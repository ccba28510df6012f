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
    """Named moving windows; a hit takes one slot of each window asked, or none at all."""

    def __init__(self, broker_url: str, windows: dict[str, tuple[int, int]]):
        self.items = {name: RateLimitItemPerSecond(n, s) for name, (n, s) in windows.items()}
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri(broker_url)))

    def take(self, keys: dict[str, str]) -> str | None:
        """None when every window has room (one slot taken in each), else the first full one."""
        full = next(
            (n for n, k in keys.items() if not self.limiter.test(self.items[n], "guichet-" + n, k)),
            None,
        )
        if full is not None:  # each refusal counted: in the log here, on the ticket by the caller
            log.warning("budget full: refused", extra={"budget": full, "key": keys[full]})
            return full
        for name, key in keys.items():
            self.limiter.hit(self.items[name], "guichet-" + name, key)
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
        """None (one acknowledgement allowed and counted) or "rate-limited:<window>"."""
        keys = {"ack-address": normalise_address(recipient)}
        if minimal:
            keys |= {"ack-domain": domain_of(recipient), "ack-global": "all"}
        full = self.budgets.take(keys)
        return f"rate-limited:{full.removeprefix('ack-')}" if full else None


class PageRateLimiter:
    """Pages triggered by a sender of unknown trust: per account and in all, per hour."""

    def __init__(self, broker_url: str, per_account: int, total: int):
        self.budgets = Budgets(
            broker_url, {"page-account": (per_account, HOUR), "page-all": (total, HOUR)}
        )

    def refusal(self, account: str | None) -> str | None:
        full = self.budgets.take({"page-account": account or "none", "page-all": "all"})
        return f"page-limited:{full.removeprefix('page-')}" if full else None
