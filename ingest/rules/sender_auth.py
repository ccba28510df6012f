"""SPF, DKIM and DMARC results: from a trusted Authentication-Results header, or DKIM checked here."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import dkim

from ingest.model import Content, Finding
from ingest.rules.dkim_keys import KeyLookup, default_lookup

FIELD = "sender_authenticated"
METHODS = ("spf", "dkim", "dmarc")
_COMMENT = re.compile(r"\([^()]*\)")
_RESULT = re.compile(r"^\s*(spf|dkim|dmarc)\s*=\s*([a-z]+)(.*)$", re.I | re.S)
# The look-behind makes a property name start only at a word's start: a long run of letters
# is then scanned once, not once per starting position (quadratic).
_PROPERTY = re.compile(r"(?<![a-z.-])([a-z]+\.[a-z-]+)\s*=\s*\"?([^\s;\"]+)", re.I)
# An Authentication-Results header our own MTA writes is a few hundred characters; a longer
# one is not ours, whatever authserv-id it claims, and is not parsed at all.
MAX_HEADER = 4096


@dataclass
class AuthResults:
    results: dict = field(default_factory=dict)  # {"spf": "pass", "dkim": ..., "dmarc": ...}
    dkim_domains: list[str] = field(default_factory=list)  # d= of passing DKIM signatures
    source: str = "none"  # "authentication-results" | "dkim-verify" | "none"


def parse_authentication_results(value: str) -> tuple[str, AuthResults]:
    """(authserv-id, results) of one Authentication-Results header (RFC 8601)."""
    parts = _COMMENT.sub(" ", " ".join(value.split())).split(";")
    authserv_id = (parts[0].split() or [""])[0].lower()
    found = AuthResults(source="authentication-results")
    for part in parts[1:]:
        hit = _RESULT.match(part)
        if not hit:
            continue
        method, result, props = (
            hit.group(1).lower(),
            hit.group(2).lower(),
            dict(_PROPERTY.findall(hit.group(3))),
        )
        if method not in found.results or result == "pass":
            found.results[method] = result
        if method == "dkim" and result == "pass":
            found.dkim_domains.append(
                _domain_of(props.get("header.d") or props.get("header.i", ""))
            )
    return authserv_id, found


def _domain_of(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().lower().rstrip(".")


def _aligned(signing: str, author: str) -> bool:
    """Relaxed alignment: same domain, or one a subdomain of the other (RFC 7489 §3.1)."""
    if not signing or not author:
        return False
    return signing == author or author.endswith("." + signing) or signing.endswith("." + author)


class TrustedHeader:
    name = "authentication-results"
    description = "the first Authentication-Results header written by one of our own servers"

    def check(self, content: Content, trusted: set[str], raw: bytes | None) -> AuthResults | None:
        for value in content.header_all("Authentication-Results"):
            if len(value) <= MAX_HEADER and authserv_id_of(value) in trusted:
                return parse_authentication_results(value)[1]
        return None


def authserv_id_of(value: str) -> str:
    """The authserv-id alone (first word before the first ";"), read without parsing the rest."""
    head = value.partition(";")[0]
    return (_COMMENT.sub(" ", head).split() or [""])[0].lower()


class DkimVerify:
    name = "dkim-verify"
    description = "DKIM signature verified here when no trusted header says anything"

    def __init__(self, dnsfunc=None, keys: KeyLookup | None = None):
        self.dnsfunc, self.keys = dnsfunc, keys  # neither: the process's (dkim_keys.py)

    def check(self, content: Content, trusted: set[str], raw: bytes | None) -> AuthResults | None:
        if raw is None:
            return None
        found = AuthResults(source=self.name)
        signature = re.search(rb"(?im)^dkim-signature:(.*(?:\r?\n[ \t].*)*)", raw)
        if not signature:
            found.results["dkim"] = "none"
            return found
        found.results["dkim"] = self._verify(raw)
        if found.results["dkim"] == "pass":
            domain = re.search(rb"(?:^|;)\s*d\s*=\s*([^;\s]+)", signature.group(1))
            found.dkim_domains.append(
                _domain_of(domain.group(1).decode("ascii", "replace")) if domain else ""
            )
        return found

    def _verify(self, raw: bytes) -> str:
        try:
            dnsfunc = self.dnsfunc or (self.keys or default_lookup()).for_message()
            return "pass" if dkim.verify(raw, dnsfunc=dnsfunc) else "fail"
        except Exception:  # DNS down or refused, malformed key or signature: never fatal
            return "temperror"


def verdict(
    found: AuthResults, from_address: str, envelope_sender: str = ""
) -> tuple[bool | None, str]:
    """(sender_authenticated, why) from the results and the From domain (DMARC alignment)."""
    results, author = found.results, _domain_of(from_address)
    if results.get("dmarc") == "pass":
        return True, "dmarc=pass"
    if results.get("dmarc") == "fail":
        return False, "dmarc=fail"
    if any(_aligned(d, author) for d in found.dkim_domains):
        return True, f"dkim=pass aligned with {author}"
    if results.get("spf") == "pass" and _aligned(_domain_of(envelope_sender), author):
        return True, f"spf=pass for an envelope sender aligned with {author}"
    if results.get("dkim") == "fail" and results.get("spf") == "fail":
        return False, "dkim and spf both fail"
    return None, "no conclusive result"


RULES = (TrustedHeader(), DkimVerify())


def authenticate(
    content: Content, *, trusted_authserv_ids=(), raw: bytes | None = None, rules=RULES
) -> tuple[dict, bool | None, list[Finding]]:
    """({"spf","dkim","dmarc"}, sender_authenticated, findings) for one request."""
    trusted = {t.lower() for t in trusted_authserv_ids}
    for rule in rules:
        found = rule.check(content, trusted, raw)
        if found is not None:
            auth = {m: found.results.get(m) for m in METHODS}
            authenticated, why = verdict(found, content.from_address, content.envelope_sender)
            return auth, authenticated, [Finding(rule.name, FIELD, authenticated, f"{auth}: {why}")]
    nothing = {m: None for m in METHODS}
    return (
        nothing,
        None,
        [Finding("no-authentication", FIELD, None, "no trusted result, no raw message")],
    )
