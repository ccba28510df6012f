"""Every SMTP reply the listener gives, in one place (RFC 5321 codes, RFC 3463 enhanced codes).

aiosmtpd words some replies itself, without an enhanced code; `REWORDED` and `REWORDED_PREFIX`
give each of them ours, and `enhanced` is what the listener applies to every line it sends.
Only the greeting, the EHLO/HELO lines and `354` carry none (RFC 2034 §3)."""

from __future__ import annotations

import re

RCPT_OK = "250 2.1.5 Recipient ok"
QUEUED = "250 2.0.0 Ok: queued as {intake_id}"
UNKNOWN_RECIPIENT = "550 5.1.1 <{address}>: no such support address here"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
NOT_DURABLE = "451 4.3.0 Temporary failure: the message could not be stored, try again later"
NOT_QUEUED = "451 4.3.0 Temporary failure: the message could not be queued, try again later"
LOCAL_ERROR = "451 4.3.0 Temporary local problem, try again later"
MAIL_OK = "250 2.1.0 Sender ok"
MESSAGE_RATE = "450 4.7.1 Too many messages from your address, try again later"
TOO_MANY_CONNECTIONS = "421 4.7.0 Too many connections from your address, try again later"
SHUTTING_DOWN = "421 4.3.2 Service shutting down, try again later"
DRAIN_TIMEOUT = "421 4.4.2 Service shutting down: timeout exceeded, try again later"
NON_ASCII_ADDRESS = "553 5.6.7 Non-ASCII address needs the SMTPUTF8 parameter"
AUTH_NOT_ENABLED = "503 5.5.1 Error: authentication not enabled"
OK = "250 2.0.0 Ok"
BYE = "221 2.0.0 Bye"
LINE_TOO_LONG = "500 5.5.2 Error: command line too long"
BAD_SYNTAX = "500 5.5.2 Error: bad syntax"
UNKNOWN_COMMAND = "500 5.5.2 Error: command not recognized"
MESSAGE_TOO_BIG = "552 5.3.4 Message size exceeds fixed limit"
XFORWARD_OK = "250 2.0.0 Ok"
XFORWARD_REFUSED = "550 5.7.0 Error: insufficient authorization"
XFORWARD_SYNTAX = "501 5.5.4 Syntax: XFORWARD attribute=value..."
XFORWARD_IN_TRANSACTION = "503 5.5.1 Error: MAIL transaction in progress"

# aiosmtpd's own replies, word for word → ours.
REWORDED = {
    "250 OK": OK,
    "221 Bye": BYE,
    "500 Command line too long": LINE_TOO_LONG,
    "500 Error: bad syntax": BAD_SYNTAX,
    "500 Error: strict ASCII mode": "500 5.6.7 Error: non-ASCII command without SMTPUTF8",
    "500 Line too long (see RFC5321 4.5.3.1.6)": MESSAGE_TOO_BIG,  # DATA lines are capped at the size
    "552 Error: Too much mail data": MESSAGE_TOO_BIG,
    "552 Error: message size exceeds fixed maximum message size": MESSAGE_TOO_BIG,
    "503 Error: send HELO first": "503 5.5.1 Error: send HELO/EHLO first",
    "503 Error: nested MAIL command": "503 5.5.1 Error: nested MAIL command",
    "503 Error: need MAIL command": "503 5.5.1 Error: need MAIL command",
    "503 Error: need RCPT command": "503 5.5.1 Error: need RCPT command",
    "501 Error: BODY can only be one of 7BIT, 8BITMIME": "501 5.5.4 BODY must be 7BIT or 8BITMIME",
    "501 Error: SMTPUTF8 takes no arguments": "501 5.5.4 SMTPUTF8 takes no argument",
    "501 Error: SMTPUTF8 disabled": "501 5.5.4 SMTPUTF8 not supported",
    "555 MAIL FROM parameters not recognized or not implemented": (
        "555 5.5.4 MAIL FROM parameters not recognized or not implemented"
    ),
    "555 RCPT TO parameters not recognized or not implemented": (
        "555 5.5.4 RCPT TO parameters not recognized or not implemented"
    ),
    "454 TLS not available": "454 4.7.0 TLS not available",
    "220 Ready to start TLS": "220 2.0.0 Ready to start TLS",
    "554 Command refused due to lack of security": "554 5.7.0 Command refused: TLS failed",
    "530 Must issue a STARTTLS command first": "530 5.7.0 Must issue a STARTTLS command first",
    "502 EXPN not implemented": "502 5.5.1 EXPN not implemented",
    "252 Cannot VRFY user, but will accept message and attempt delivery": (
        "252 2.0.0 Cannot VRFY user, but will accept message and attempt delivery"
    ),
}
# Replies aiosmtpd words with a variable tail: the prefix → ours (the tail is kept).
REWORDED_PREFIX = {
    "501 Syntax: ": "501 5.5.4 Syntax: ",
    "250 Syntax: ": "250 2.0.0 Syntax: ",
    "250 Supported commands: ": "250 2.0.0 Supported commands: ",
    "501 Supported commands: ": "501 5.5.4 Unknown command; supported commands: ",
    "500 Error: command ": UNKNOWN_COMMAND,  # the tail echoes the command: dropped
    "502 Could not VRFY ": "502 5.5.2 Could not VRFY that address",
    "500 Error: (": LOCAL_ERROR,  # an exception text: never shown
}
_HAS_ENHANCED = re.compile(r"^[245][0-9]{2}[ -][245]\.[0-9]{1,3}\.[0-9]{1,3}( |$)")
_CLASS_DEFAULT = {"2": "2.0.0", "4": "4.0.0", "5": "5.0.0"}


def enhanced(line: str) -> str:
    """The reply as the client gets it: with an enhanced status code, whoever worded it."""
    if _HAS_ENHANCED.match(line):
        return line
    if line in REWORDED:
        return REWORDED[line]
    for prefix, ours in REWORDED_PREFIX.items():
        if line.startswith(prefix):
            return ours if not ours.endswith(" ") else ours + line[len(prefix) :]
    code, sep, text = line[:3], line[3:4] or " ", line[4:]
    return f"{code}{sep}{_CLASS_DEFAULT.get(code[:1], '5.0.0')} {text}".rstrip()
