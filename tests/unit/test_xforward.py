"""XFORWARD attributes as Postfix sends them: xtext, unavailable values, IPv6, nonsense."""

from __future__ import annotations

import pytest

from ingest.edges import xforward
from ingest.edges.networks import Networks


def test_attributes_are_decoded_from_xtext_and_unavailable_ones_left_out():
    found = xforward.parse("NAME=[UNAVAILABLE] ADDR=192.0.2.7 HELO=mail+2Bx.example ident=ABC123")
    assert found == {"ADDR": "192.0.2.7", "HELO": "mail+x.example", "IDENT": "ABC123"}


def test_an_ipv6_client_is_given_without_its_prefix_and_a_bad_address_not_at_all():
    assert xforward.client_address({"ADDR": "IPv6:2001:db8::5"}) == "2001:db8::5"
    assert xforward.client_address({"ADDR": "not-an-address"}) is None
    assert xforward.client_address({}) is None


@pytest.mark.parametrize("arg", [None, "", "ADDR", "COLOR=red", "ADDR=" + "1" * 300])
def test_anything_but_known_attribute_value_pairs_is_a_syntax_error(arg):
    with pytest.raises(xforward.XforwardSyntax):
        xforward.parse(arg)


def test_trusted_relays_may_be_addresses_or_networks_of_either_family():
    relays = Networks(["10.0.0.0/29", "2001:db8::1", "127.0.0.3"])
    assert "10.0.0.5" in relays and "::ffff:10.0.0.6" in relays and "2001:db8::1" in relays
    assert "10.0.0.9" not in relays and "127.0.0.1" not in relays and "garbage" not in relays
    assert not Networks([])
