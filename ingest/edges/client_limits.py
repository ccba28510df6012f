"""Per-client-IP limits of the SMTP edge: concurrent connections and a moving-window message rate."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from ingest.edges.networks import Networks


class ClientLimits:
    """Exempt addresses or networks (loopback by default) are never limited."""

    def __init__(self, max_connections: int, message_rate: str, exempt: Iterable[str] = ()):
        self.max_connections = max_connections
        self.rate = parse(message_rate)  # e.g. "120/minute"
        self.exempt = Networks(exempt)
        self._open: Counter[str] = Counter()
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def connect(self, ip: str) -> bool:
        """Count a new connection; False when the address already holds too many."""
        self._open[ip] += 1
        return ip in self.exempt or self._open[ip] <= self.max_connections

    def disconnect(self, ip: str) -> None:
        self._open[ip] -= 1
        if self._open[ip] <= 0:
            del self._open[ip]

    def message_allowed(self, ip: str) -> bool:
        return ip in self.exempt or self._limiter.hit(self.rate, "msg", ip)
