"""At most N acknowledgements per sender per period, counted atomically in Redis across all workers."""

from __future__ import annotations

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter


def storage_uri(broker_url: str) -> str:
    """The limits library names a Redis unix socket "redis+unix://"."""
    return (
        "redis+unix://" + broker_url.removeprefix("unix://")
        if broker_url.startswith("unix://")
        else broker_url
    )


class AckRateLimiter:
    """A moving window per recipient; each allowed acknowledgement takes one slot."""

    def __init__(self, broker_url: str, limit: int, period_seconds: int):
        self.item = RateLimitItemPerSecond(limit, period_seconds)
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri(broker_url)))

    def allow(self, recipient: str) -> bool:
        return self.limiter.hit(self.item, "guichet-ack", recipient.strip().lower())
