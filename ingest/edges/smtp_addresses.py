"""MAIL FROM / RCPT TO addresses in their plainest form, read without the header parser.

aiosmtpd reads the address of every MAIL and RCPT command with the standard library's header
parser (`email._header_value_parser.get_angle_addr`), which builds a token tree for what is,
in nearly every command, `<local@domain>` followed by parameters: 8 % of the listener's CPU.
`plain_address` recognises that plainest form — dot-atoms of ASCII characters on both sides,
no quoted string, route, comment or address literal — and gives exactly what the parser gives
for it (tested against it); anything else is left to the parser, unchanged.
"""

from __future__ import annotations

import re

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN = re.compile(rf"<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>")


def plain_address(arg: str) -> tuple[str, str] | None:
    """(address, parameters) of `<local@domain> [parameters]` in its plainest form; None for
    anything else (the caller then parses it in full)."""
    match = _PLAIN.match(arg)
    if match is None:
        return None
    rest = arg[match.end() :]
    if rest:
        if rest[0] not in " \t":
            return None  # the parser decides what `<a@b>x` means
        rest = rest.lstrip(" \t")
        if rest.startswith("("):
            return None  # a comment after the address: the parser's
    return match.group(1), rest
