"""The host and bare-name scans of the category rule use possessive runs: the same matches as
the plain runs, on generated text made of the characters that decide them."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.rules.category import _BARE, _HOST

PLAIN_HOST = re.compile(r"(?<![\w@./:-])((?:[a-z0-9][a-z0-9-]*\.)+[a-z]{2,})(?![\w-])", re.I)
PLAIN_BARE = re.compile(r"(?<![\w@./:-])([a-z][a-z-]*\d[\w-]*)(?![\w@.-])", re.I)

texts = st.text(alphabet=st.sampled_from("abZ19.-@/:_ é\n"), max_size=60)


@settings(max_examples=2000, deadline=None)
@given(texts)
def test_the_possessive_scans_find_what_the_plain_ones_find(text):
    assert _HOST.findall(text) == PLAIN_HOST.findall(text)
    assert _BARE.findall(text) == PLAIN_BARE.findall(text)


def test_hosts_and_bare_names_of_a_dns_request():
    text = "mx1.dri.example. 3600 IN A 192.0.2.25, srv-web01 et vps1234 (voir www.a-b.fr/x)"
    assert _HOST.findall(text) == ["mx1.dri.example", "www.a-b.fr"]
    assert _BARE.findall(text) == ["srv-web01", "vps1234"]
