"""Sender trust: declared (normalised addresses), authenticated (aligned), unknown, failed."""

from __future__ import annotations

import time

from intake_fixtures import demo_directory, mail

from ingest.rules.identity import identify
from ingest.rules.sender_auth import TrustedHeader, authserv_id_of, parse_authentication_results
from ingest.rules.sender_trust import normalise_address

OUR_MX = "mx1.dri.example"
SIGNED = "Client 20481\nSophie Kerbrat"


def trust_of(text=SIGNED, results=(), **fields):
    headers = [("Authentication-Results", r) for r in results]
    identity, _ = identify(
        mail(text, headers=headers, **fields), demo_directory(), trusted_authserv_ids=[OUR_MX]
    )
    return identity.sender_trust, identity.trust_why


def test_addresses_are_compared_without_case_or_tag():
    assert normalise_address(" <Victim+2@Example.ORG> ") == "victim@example.org"
    assert normalise_address("victim+a+b@example.org.") == "victim@example.org"
    assert normalise_address("no-at-sign") == "no-at-sign"


def test_a_declared_envelope_sender_or_from_address_is_declared_whatever_its_tag_or_case():
    assert trust_of(envelope_sender="S.Kerbrat+support@Armor-Logistique.fr")[0] == "declared"
    assert trust_of(from_address="s.kerbrat@armor-logistique.fr", envelope_sender="")[0] == (
        "declared"
    )


def test_a_declared_from_with_a_strangers_envelope_sender_is_not_declared():
    fields = dict(from_address="s.kerbrat@armor-logistique.fr", envelope_sender="v@example.org")
    assert trust_of(**fields)[0] == "unknown"
    bounce = dict(fields, envelope_sender="bounces+x@armor-logistique.fr")
    assert trust_of(**bounce)[0] == "declared"


def test_an_address_declared_on_another_account_is_not_declared_on_this_one():
    assert trust_of(envelope_sender="claire@atelier-picard.com")[0] == "unknown"


def test_an_aligned_dkim_or_spf_pass_from_our_mta_authenticates():
    dkim = f"{OUR_MX}; dkim=pass header.d=example.net"
    spf = f"{OUR_MX}; spf=pass smtp.mailfrom=example.net"
    fields = dict(from_address="ops@example.net", envelope_sender="bounce@mail.example.net")
    assert trust_of(results=[dkim], **fields)[0] == "authenticated"
    assert trust_of(results=[spf], **fields)[0] == "authenticated"
    foreign = f"{OUR_MX}; dkim=pass header.d=other.example"
    assert trust_of(results=[foreign], **fields)[0] == "unknown"


def test_a_header_from_someone_else_s_mta_counts_for_nothing():
    forged = "mx.attacker.example; dmarc=pass header.from=armor-logistique.fr"
    assert trust_of(results=[forged], envelope_sender="x@example.net")[0] == "unknown"


def test_dmarc_fail_or_spf_hard_fail_is_failed_even_from_a_declared_address():
    declared = dict(envelope_sender="s.kerbrat@armor-logistique.fr")
    dmarc = f"{OUR_MX}; dmarc=fail header.from=armor-logistique.fr"
    spf = f"{OUR_MX}; spf=fail smtp.mailfrom=armor-logistique.fr"
    assert trust_of(results=[dmarc], **declared) == ("failed", "dmarc=fail")
    assert trust_of(results=[spf], **declared)[0] == "failed"
    forwarded = f"{OUR_MX}; spf=fail smtp.mailfrom=x.example; dmarc=pass"
    assert trust_of(results=[forwarded], **declared)[0] == "declared"


def test_only_a_trusted_authserv_id_is_parsed_and_an_oversized_header_never():
    calls = []

    class Counting(TrustedHeader):
        pass

    values = [f"other{n}.example; dkim=pass header.d=x" for n in range(50)]
    values.append(f"{OUR_MX}; " + "a" * 10_000)
    content = mail(headers=[("Authentication-Results", v) for v in values])
    import ingest.rules.sender_auth as module

    real = module.parse_authentication_results
    module.parse_authentication_results = lambda v: calls.append(v) or real(v)
    try:
        assert Counting().check(content, {OUR_MX}, None) is None
    finally:
        module.parse_authentication_results = real
    assert calls == []
    assert authserv_id_of("  MX1.dri.example (our mx) ; spf=pass") == OUR_MX


def _parse_seconds(size: int) -> float:
    value = f"{OUR_MX}; spf=pass " + "a" * size
    start = time.process_time()
    for _ in range(3):
        parse_authentication_results(value)
    return time.process_time() - start


def test_parsing_a_long_run_of_letters_is_linear():
    small, large = _parse_seconds(2_000), _parse_seconds(16_000)
    assert large <= 12 * max(small, 1e-4)  # quadratic would be 64 times
