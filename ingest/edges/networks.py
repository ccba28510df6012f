"""Sets of client addresses written as addresses or networks ("127.0.0.1", "10.0.0.0/8", "::1")."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable


class Networks:
    """Membership of an address in configured networks; an unparsable address is in none."""

    def __init__(self, written: Iterable[str] = ()):
        self.networks = tuple(ipaddress.ip_network(w.strip(), strict=False) for w in written)

    def __contains__(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.removeprefix("IPv6:").strip("[]"))
        except ValueError:
            return False
        if getattr(ip, "ipv4_mapped", None):
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks if ip.version == network.version)

    def __bool__(self) -> bool:
        return bool(self.networks)
