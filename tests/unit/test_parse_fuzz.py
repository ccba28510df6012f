"""Fuzzing parse + decide: any bytes give a storable decision, never an exception.

How the cost grows with the input is tested by counting and by comparing n with 8n
(test_rules_scale.py), never by a wall-clock budget here."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.model import decision_from_dict
from ingest.reading import mime
from ingest.rules.triage import decide
from tests.unit.intake_fixtures import demo_directory

RECEIVED = datetime(2024, 11, 14, 10, 30, tzinfo=UTC)
FUZZ = settings(
    max_examples=300,
    deadline=None,  # no wall-clock limit: a loaded machine is not a slow parser
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HEADER_NAMES = st.sampled_from(
    [
        "From", "To", "Cc", "Subject", "Message-ID", "In-Reply-To", "References", "Date",
        "Content-Type", "Content-Transfer-Encoding", "Content-Disposition", "MIME-Version",
        "Auto-Submitted", "Precedence", "List-Id", "X-Priority", "Importance", "Return-Path",
        "Authentication-Results", "DKIM-Signature", "Reply-To", "X-Loop", "Received",
    ]
)  # fmt: skip
CONTENT_TYPES = st.sampled_from(
    [
        "text/plain", "text/html", "multipart/mixed", "multipart/alternative", "message/rfc822",
        "multipart/report; report-type=delivery-status", "application/octet-stream", "text/calendar",
    ]
)  # fmt: skip
CHARSETS = st.sampled_from(
    ["utf-8", "iso-8859-1", "windows-1252", "x-unknown", "utf-7", "utf-16", "", "us-ascii\x00"]
)
WORDS = st.sampled_from(
    [
        "client", "n°", "20481", "10234", "urgent", "pas urgent", "serveur", "Jean-François Hervé",
        "Nom :", "=?utf-8?B?w6k=?=", "=?x?Q?=FF?=", "[DRI #100001]", "<a@b>", "--", "=\r\n", "\t",
        "\u00e9", "\ufeff", "\x00", "{{ x }}", "DNS", "http://exemple.fr", "06 12 34 56 78",
    ]
)  # fmt: skip
TEXT = st.lists(st.one_of(WORDS, st.text(max_size=40)), max_size=30).map(" ".join)


@st.composite
def mail_bytes(draw) -> bytes:
    """Mail-shaped bytes: header lines (sometimes broken), then a possibly MIME body."""
    eol = draw(st.sampled_from([b"\r\n", b"\n", b"\r"]))
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(st.one_of(HEADER_NAMES, st.text(min_size=1, max_size=12)))
        value = draw(st.one_of(TEXT, CONTENT_TYPES.map(lambda t: t + '; boundary="B"')))
        lines.append(
            name.encode("utf-8", "surrogatepass") + b": " + value.encode("utf-8", "ignore")
        )
    boundary = draw(st.sampled_from([b"B", b"", b"B--", b"\xff"]))
    body = []
    for _ in range(draw(st.integers(0, 6))):
        body.append(b"--" + boundary)
        body.append(
            b"Content-Type: "
            + draw(CONTENT_TYPES).encode()
            + b"; charset="
            + draw(CHARSETS).encode()
        )
        body.append(
            b"Content-Transfer-Encoding: "
            + draw(st.sampled_from([b"base64", b"quoted-printable", b"8bit", b"x-uue"]))
        )
        body.append(b"")
        body.append(
            draw(
                st.one_of(TEXT.map(lambda t: t.encode("utf-8", "ignore")), st.binary(max_size=300))
            )
        )
    if draw(st.booleans()):
        body.append(b"--" + boundary + b"--")
    body.append(draw(TEXT).encode("latin-1", "replace"))
    return eol.join(lines) + eol + eol + eol.join(body)


def assert_storable(raw: bytes) -> None:
    content = mime.parse(
        raw, envelope_sender="fuzz@example.org", recipients=["support@dri.example"]
    )
    decision = decide(content, demo_directory(), received_at=RECEIVED, raw=raw)
    # What the journal and the ticket store write must encode as UTF-8 JSON and text.
    stored = json.dumps(decision.to_dict(), ensure_ascii=False).encode("utf-8")
    assert decision_from_dict(json.loads(stored)).identity.status in ("verified", "unverified")
    for text in (content.subject, content.text, content.message_id, content.from_address):
        text.encode("utf-8")
    for attachment in content.attachments:
        json.dumps(attachment.__dict__, ensure_ascii=False).encode("utf-8")


@FUZZ
@given(st.binary(max_size=4000))
def test_any_bytes_are_parsed_and_decided_without_raising(raw):
    assert_storable(raw)


@FUZZ
@given(mail_bytes())
def test_mail_shaped_garbage_is_parsed_and_decided_without_raising(raw):
    assert_storable(raw)
