"""DKIM public keys from DNS, on a short leash: the attacker chooses the domain we look up.

Each lookup has a short timeout (`dkim_dns_timeout`); answers (and "no key") are cached, a
bounded number for a bounded time; one message may cause at most `dkim_dns_budget` lookups.
The lookup itself is injectable (`KeyLookup(lookup=...)`), and `dkim_dns = false` (settings;
the test suite sets GUICHET_DKIM_DNS=false) turns the network off: a signature is then a
"temperror", never a query.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from threading import Lock

from cachetools import TTLCache

Lookup = Callable[[bytes, float], bytes | None]


class LookupRefused(Exception):
    """No DNS lookup for this message: budget spent, or lookups turned off."""


def _network(name: bytes, timeout: float) -> bytes | None:
    from dkim.dnsplug import get_txt

    return get_txt(name, timeout=timeout)


def _offline(name: bytes, timeout: float) -> bytes | None:
    raise LookupRefused("DKIM DNS lookups are turned off (dkim_dns = false)")


class KeyLookup:
    def __init__(
        self,
        lookup: Lookup = _network,
        timeout: float = 2.0,
        budget: int = 2,
        cache_size: int = 1024,
        cache_seconds: float = 600.0,
    ):
        self.lookup, self.timeout, self.budget = lookup, timeout, budget
        self.cache: TTLCache = TTLCache(maxsize=cache_size, ttl=cache_seconds)
        self.lock = Lock()
        self.queries = 0  # lookups answered (tests count them)

    def for_message(self) -> Callable[..., bytes | None]:
        """The `dnsfunc` dkimpy calls, with this message's own budget."""
        left = [self.budget]

        def dnsfunc(name: bytes, timeout: float = 5) -> bytes | None:
            with self.lock:
                if name in self.cache:
                    return self.cache[name]
            if left[0] <= 0:
                raise LookupRefused(f"more than {self.budget} DKIM key lookups for one message")
            left[0] -= 1
            value = self.lookup(name, min(timeout, self.timeout))
            with self.lock:
                self.queries += 1
                self.cache[name] = value
            return value

        return dnsfunc


@lru_cache(maxsize=1)
def default_lookup() -> KeyLookup:
    """The process's lookup, from the settings (read once, in the process that verifies)."""
    from ingest.settings import get_settings

    s = get_settings()
    lookup = _network if s.dkim_dns else _offline
    return KeyLookup(lookup, timeout=s.dkim_dns_timeout, budget=s.dkim_dns_budget)
