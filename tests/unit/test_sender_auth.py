import base64

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ingest.model import Content
from ingest.rules.sender_auth import DkimVerify, authenticate, parse_authentication_results

HEADER = (
    "mx1.dri.example; spf=pass smtp.mailfrom=armor-logistique.fr; "
    "dkim=pass (2048-bit key) header.d=armor-logistique.fr header.s=s1; "
    "dmarc=pass (p=none) header.from=armor-logistique.fr"
)


def content(*results, sender="s.kerbrat@armor-logistique.fr"):
    headers = [("Authentication-Results", r) for r in results]
    return Content("smtp", from_address=sender, headers=headers)


def test_a_header_is_parsed_into_its_three_results():
    authserv_id, found = parse_authentication_results(HEADER)
    assert authserv_id == "mx1.dri.example"
    assert found.results == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}
    assert found.dkim_domains == ["armor-logistique.fr"]


def test_a_header_from_an_untrusted_server_is_ignored():
    auth, authenticated, _ = authenticate(content(HEADER), trusted_authserv_ids=("mx9.other",))
    assert authenticated is None and auth["dmarc"] is None


def test_dmarc_pass_from_a_trusted_server_authenticates_the_sender():
    auth, authenticated, _ = authenticate(
        content(HEADER), trusted_authserv_ids=("MX1.dri.example",)
    )
    assert authenticated is True and auth == {"spf": "pass", "dkim": "pass", "dmarc": "pass"}


def test_dmarc_fail_means_not_authenticated():
    header = "mx1.dri.example; dkim=pass header.d=armor-logistique.fr; dmarc=fail"
    _, authenticated, _ = authenticate(content(header), trusted_authserv_ids=("mx1.dri.example",))
    assert authenticated is False


def test_dkim_and_spf_both_failing_means_not_authenticated():
    header = "mx1.dri.example; spf=fail smtp.mailfrom=x.example; dkim=fail header.d=x.example"
    _, authenticated, _ = authenticate(content(header), trusted_authserv_ids=("mx1.dri.example",))
    assert authenticated is False


def test_dkim_pass_counts_only_when_aligned_with_the_from_domain():
    aligned = "mx1.dri.example; dkim=pass header.d=armor-logistique.fr"
    foreign = "mx1.dri.example; dkim=pass header.d=mailer.example"
    trusted = ("mx1.dri.example",)
    assert authenticate(content(aligned), trusted_authserv_ids=trusted)[1] is True
    assert authenticate(content(foreign), trusted_authserv_ids=trusted)[1] is None


def test_a_raw_message_without_signature_gives_dkim_none_and_no_verdict():
    raw = b"From: a@x.example\r\nTo: support@dri.example\r\nSubject: hi\r\n\r\nhello\r\n"
    auth, authenticated, findings = authenticate(
        Content("smtp", from_address="a@x.example"), raw=raw
    )
    assert auth["dkim"] == "none" and authenticated is None
    assert findings[0].rule == "dkim-verify"


def _signed_message():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    message = b"From: a@x.example\r\nTo: support@dri.example\r\nSubject: hi\r\n\r\nhello\r\n"
    signature = dkim.sign(
        message, b"s1", b"x.example", private, include_headers=[b"From", b"Subject"]
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return signature + message, record


def test_a_valid_dkim_signature_is_verified_here_and_aligned():
    raw, record = _signed_message()
    rule = DkimVerify(dnsfunc=lambda name, timeout=5: record)
    auth, authenticated, _ = authenticate(
        Content("smtp", from_address="a@x.example"), raw=raw, rules=(rule,)
    )
    assert auth["dkim"] == "pass" and authenticated is True


def test_a_failing_dns_lookup_is_a_temperror_never_an_exception():
    raw, _ = _signed_message()

    def broken_dns(name, timeout=5):
        raise OSError("no DNS here")

    auth, authenticated, _ = authenticate(
        Content("smtp", from_address="a@x.example"),
        raw=raw,
        rules=(DkimVerify(dnsfunc=broken_dns),),
    )
    assert auth["dkim"] == "temperror" and authenticated is None


def test_key_lookups_are_cached_and_budgeted_per_message():
    from ingest.rules.dkim_keys import KeyLookup, LookupRefused

    asked = []
    keys = KeyLookup(lambda name, timeout: asked.append((name, timeout)) or b"v=DKIM1", budget=2)
    first = keys.for_message()
    assert first(b"a._domainkey.x.example", 5) == b"v=DKIM1"
    assert first(b"a._domainkey.x.example", 5) == b"v=DKIM1"  # cached: no second query
    first(b"b._domainkey.x.example", 5)
    try:
        first(b"c._domainkey.x.example", 5)
        raise AssertionError("a third lookup for one message")
    except LookupRefused:
        pass
    keys.for_message()(b"c._domainkey.x.example", 5)  # the next message has its own budget
    assert keys.queries == 3 and all(timeout == 2.0 for _, timeout in asked)


def test_an_injected_lookup_verifies_and_the_suite_never_queries_dns():
    from ingest.rules.dkim_keys import KeyLookup, default_lookup

    raw, record = _signed_message()
    keys = KeyLookup(lambda name, timeout: record)
    auth, authenticated, _ = authenticate(
        Content("smtp", from_address="a@x.example"), raw=raw, rules=(DkimVerify(keys=keys),)
    )
    assert auth["dkim"] == "pass" and authenticated is True and keys.queries == 1
    auth, _, _ = authenticate(Content("smtp", from_address="a@x.example"), raw=raw)
    assert auth["dkim"] == "temperror" and default_lookup().queries == 0  # refused, never sent
