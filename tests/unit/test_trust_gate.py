"""Which acknowledgement each sender trust gets, and the subject excerpt of a minimal one."""

from __future__ import annotations

from ingest.model import Decision, Identity
from workers.acks.excerpt import subject_excerpt
from workers.trust_gate import ack_choice, page_is_limited


def decision(trust: str) -> Decision:
    return Decision(identity=Identity(sender_trust=trust, trust_why="because"))


def test_each_trust_gets_its_variant():
    variants = {t: ack_choice(decision(t)).variant for t in ("declared", "authenticated")}
    assert variants == {"declared": "full", "authenticated": "full"}
    assert ack_choice(decision("unknown")).variant == "minimal"
    failed = ack_choice(decision("failed"))
    assert failed.variant == "none" and failed.skip_reason == "sender-failed"


def test_an_identity_confirmation_goes_only_to_a_trusted_sender():
    assert ack_choice(decision("unknown"), "identified").skip_reason == "sender-unknown"
    assert ack_choice(decision("declared"), "identified").variant == "full"


def test_only_untrusted_senders_pages_are_limited():
    assert page_is_limited(decision("unknown")) and page_is_limited(decision("failed"))
    assert not page_is_limited(decision("declared"))
    assert not page_is_limited(decision("authenticated"))


def test_the_excerpt_drops_links_hosts_and_addresses_and_is_short():
    subject = "Win https://x.example/a now www.y.example or z.example/b, write me@q.example " * 5
    excerpt = subject_excerpt(subject, 80)
    assert len(excerpt) <= 80 and excerpt.startswith("Win now or")
    assert not any(s in excerpt for s in ("example", "://", "@", "www"))


def test_the_excerpt_of_a_huge_subject_reads_a_bounded_prefix():
    assert len(subject_excerpt("a" * 1_000_000, 80)) == 80
