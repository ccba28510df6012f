"""Postfix's XFORWARD: the MTA in front tells us who its client was (trusted relays only)."""

from __future__ import annotations

import ipaddress
import re

# What we announce and store; IDENT and SOURCE are accepted and ignored.
ATTRIBUTES = ("NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE")
KEYWORD = "XFORWARD " + " ".join(ATTRIBUTES)
UNKNOWN = ("[UNAVAILABLE]", "[TEMPUNAVAIL]")
MAX_VALUE = 255  # a host name, an address: anything longer is not what Postfix sends
_XTEXT = re.compile(r"\+([0-9A-Fa-f]{2})")


class XforwardSyntax(ValueError):
    """The command is not `XFORWARD attr=value ...` with known attributes."""


def parse(arg: str | None) -> dict[str, str]:
    """`NAME=mail.example ADDR=192.0.2.7` → {"NAME": "mail.example", "ADDR": "192.0.2.7"}.

    Values are xtext (RFC 3461: `+XX` hex escapes); "[UNAVAILABLE]" values are left out."""
    pairs = (arg or "").split()
    if not pairs:
        raise XforwardSyntax("no attribute")
    found = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        name = name.upper()
        if not eq or name not in ATTRIBUTES or len(value) > MAX_VALUE:
            raise XforwardSyntax(pair[:40])
        value = _XTEXT.sub(lambda m: chr(int(m.group(1), 16)), value)
        if value not in UNKNOWN:
            found[name] = value
    return found


def client_address(attributes: dict[str, str]) -> str | None:
    """The forwarded ADDR as a plain address ("IPv6:" prefix dropped), or None when absent or bad."""
    written = attributes.get("ADDR", "").removeprefix("IPv6:").removeprefix("ipv6:")
    try:
        return str(ipaddress.ip_address(written)) if written else None
    except ValueError:
        return None
