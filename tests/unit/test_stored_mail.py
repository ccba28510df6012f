"""Mail taken from a mailbox or an archive: its envelope, and one pass through the funnel."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime

from dramatiq.brokers.stub import StubBroker

from ingest.analysis import Rules
from ingest.edges.addresses import AddressBook
from ingest.edges.stored_mail import StoredMailIntake, stored_envelope
from ingest.intake import Intake
from ingest.parser_pool import ParserPool
from tests.unit.intake_fixtures import demo_directory

BOOK = AddressBook(["support@dri.example"], ["urgent@dri.example"])
AT = datetime(2026, 12, 1, 9, tzinfo=UTC)


def envelope(raw: bytes, **options):
    options.setdefault("default_recipient", "support@dri.example")
    return stored_envelope(raw, BOOK, channel="imap", received_at=AT, **options)


def test_the_sender_is_the_return_path_not_the_from_header():
    raw = b"Return-Path: <bounces+x@mailer.example>\r\nFrom: Anne <anne@client.example>\r\n\r\nhi"
    assert envelope(raw).sender == "bounces+x@mailer.example"


def test_an_empty_return_path_is_a_bounce_and_never_falls_back_to_from():
    raw = b"Return-Path: <>\r\nFrom: MAILER-DAEMON <postmaster@client.example>\r\n\r\nhi"
    assert envelope(raw).sender == ""


def test_an_address_too_long_to_be_real_leaves_nobody_to_answer():
    raw = b"Return-Path: <" + b"a" * 300 + b"@client.example>\r\n\r\nhi"
    assert envelope(raw).sender == ""


def test_without_a_return_path_the_sender_is_the_from_address():
    assert envelope(b"From: Anne <anne@client.example>\n\nhi").sender == "anne@client.example"


def test_the_recipients_are_our_addresses_among_the_delivery_headers():
    raw = (
        b"Delivered-To: urgent@dri.example\r\nTo: Someone <someone@elsewhere.example>,"
        b" SUPPORT+20481@dri.example\r\nCc: support+20481@dri.example\r\n\r\nTo: support@dri.example"
    )
    assert envelope(raw).recipients == ["urgent@dri.example", "support+20481@dri.example"]


def test_mail_that_names_none_of_our_addresses_goes_to_the_mailbox_address():
    raw = b"To: list@elsewhere.example\r\n\r\nhi"
    assert envelope(raw, default_recipient="urgent@dri.example").recipients == [
        "urgent@dri.example"
    ]


def test_the_envelope_carries_its_channel_source_and_receipt_time():
    found = envelope(b"From: a@b.example\r\n\r\n", source="imap:support")
    assert (found.channel, found.source, found.received_at) == ("imap", "imap:support", AT)


class Journal:
    def __init__(self):
        self.records = []

    def record(self, intake_id, envelope, raw, analysis, claim=None):
        self.records.append((intake_id, analysis))


class Ledger:
    def __init__(self, known: dict[str, str]):
        self.known = known

    def taken(self, raw_sha256: str) -> str | None:
        return self.known.get(raw_sha256)


def take(raw: bytes, known: dict[str, str], adjust=None):
    journal, broker = Journal(), StubBroker()
    broker.declare_queue("tickets.routine")
    broker.declare_queue("tickets.urgent")
    parser = ParserPool(demo_directory, Rules(), processes=0)
    stored = StoredMailIntake(Intake(journal, broker), parser, Ledger(known), adjust)
    return asyncio.run(stored.take(raw, envelope(raw))), journal


RAW = b"From: Yann Le Goff <yann@legoff-boulangerie.fr>\r\nSubject: DNS\r\n\r\nClient 10234\r\n"


def test_a_new_message_is_analysed_stored_and_queued():
    taken, journal = take(RAW, {})
    assert (taken.outcome, taken.rejected) == ("accepted", False)
    assert [r[0] for r in journal.records] == [taken.intake_id]


def test_bytes_already_taken_in_are_a_duplicate_and_never_stored_again():
    taken, journal = take(RAW, {hashlib.sha256(RAW).hexdigest(): "0123abcd"})
    assert (taken.outcome, taken.intake_id) == ("duplicate", "0123abcd")
    assert journal.records == []


def test_the_adjustment_is_applied_before_the_decision_is_stored():
    def quiet(analysis):
        analysis.decision.suppression.acknowledge = False

    _taken, journal = take(RAW, {}, quiet)
    assert journal.records[0][1].decision.suppression.acknowledge is False
