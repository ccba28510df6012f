"""A first look at a request before any parsing: whose it is, and whether it goes first.

Read from the envelope and a bounded head of the raw bytes only, so that it costs the same
whatever a hostile mail holds. It decides nothing about the request: it only orders the work.
"""

from __future__ import annotations

import asyncio
import logging
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import parseaddr
from functools import lru_cache

from ingest import config_files
from ingest.analysis import Envelope
from ingest.directory import Directory, DirectoryUnavailable
from ingest.model import Content
from ingest.reading.normalize import fold
from ingest.reading.phrase_scan import find_phrases, has_phrase
from ingest.rules.suppression import plain_address
from ingest.rules.urgency_context import negated

log = logging.getLogger("guichet.parser")
HEAD_LIMIT = 64 * 1024  # header bytes read; a subject further down waits its turn


@lru_cache(maxsize=1)
def _vocab() -> dict:
    return config_files.load("vocabulary")["urgency"]


def urgent_subject(subject: str) -> bool:
    """The subject alone says urgent or outage ("pas urgent" is not), and not that it can wait."""
    folded, v = fold(subject[:1000]), _vocab()
    if has_phrase(folded, v["unhurried"]):
        return False
    hits = find_phrases(folded, v["severity_terms"]) + find_phrases(folded, v["outage_terms"])
    return any(not negated(folded, hit.start()) for hit in hits)


def head_of(raw: bytes) -> tuple[str, str]:
    """(Subject, From address) from the header block, decoded; ("", "") when unreadable."""
    head = raw[:HEAD_LIMIT]
    for separator in (b"\r\n\r\n", b"\n\n"):
        head = head.partition(separator)[0]
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(head)
        subject = str(make_header(decode_header(headers.get("Subject", ""))))
        return subject, parseaddr(str(headers.get("From", "")))[1].lower()
    except Exception:  # a defective header is the parser's business, not ours
        return "", ""


class FirstLook:
    """Source key and priority of a request, from what is known before parsing it."""

    def __init__(self, directory: Directory, urgent_addresses=(), exempt_sources=()):
        self.directory = directory
        self.urgent = {plain_address(a) for a in urgent_addresses}
        self.exempt = set(exempt_sources)

    def source(self, envelope: Envelope) -> str:
        """Who a parser is counted against: the partner, the client IP, or, for mail our own
        relays pass on (exempt addresses), the sender."""
        if envelope.partner:
            return f"partner:{envelope.partner}"
        if envelope.client_ip and envelope.client_ip not in self.exempt:
            return f"ip:{envelope.client_ip}"
        return f"sender:{plain_address(envelope.sender)}"

    async def mail(self, raw: bytes, envelope: Envelope) -> bool:
        if any(plain_address(r) in self.urgent for r in envelope.recipients):
            return True
        subject, author = head_of(raw)
        if not urgent_subject(subject):
            return False
        return await asyncio.to_thread(self._declared, {author, envelope.sender.lower()})

    async def content(self, content: Content) -> bool:
        severity = str(content.declared.get("severity") or "").strip().lower()
        if severity in _vocab()["strong_severities"]:
            return True
        if not urgent_subject(content.subject or ""):
            return False
        address = str(content.declared.get("contact_email") or content.from_address or "")
        return await asyncio.to_thread(self._declared, {address.lower()})

    def _declared(self, addresses: set[str]) -> bool:
        """One of the addresses is a contact declared on an account eligible for urgent work."""
        try:
            return any(
                account.urgent_eligible
                for address in addresses
                if address
                for account in self.directory.accounts_for_email(address)
            )
        except DirectoryUnavailable:
            log.warning("directory unavailable: request parsed in its turn")
            return False
