"""The acknowledgement as composed: what a mail reader decodes is exactly what was rendered."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.acks.mail import compose, wire_bytes
from workers.acks.render import RenderedAck

RENDERED = RenderedAck(
    "[DRI #100042] Accusé de réception : « Serveur lent »",
    "Bonjour Madame Le Goff,\n\nNous avons bien reçu votre demande.\n" + "é" * 120 + "\n",
    "<p>Nous avons bien reçu votre demande « Serveur lent ».</p>" * 4,
)


def _compose(
    recipient="anne.legoff@armor-logistique.fr", in_reply_to="m1@client.example", rendered=RENDERED
):
    return compose(
        rendered,
        sender="support@dri.example",
        recipient=recipient,
        message_id="ack-7.100042@dri.example",
        in_reply_to=in_reply_to,
        references=["m0@client.example"],
        language="fr",
        sent_at=datetime(2026, 12, 6, 21, 0, tzinfo=UTC),
    )


@pytest.mark.parametrize("recipient", ["anne.legoff@armor-logistique.fr", "josé@exemple.fr"])
def test_a_reader_decodes_what_was_rendered(recipient):
    raw = _compose(recipient).as_bytes()
    read = message_from_bytes(raw, policy=policy.default)
    assert str(read["Subject"]) == RENDERED.subject
    assert str(read["To"]) == recipient
    assert read["In-Reply-To"] == "<m1@client.example>"
    assert read["References"] == "<m0@client.example> <m1@client.example>"
    assert read["Auto-Submitted"] == "auto-replied" and read["Content-Language"] == "fr"
    assert read.get_body(("plain",)).get_content() == RENDERED.text
    assert read.get_body(("html",)).get_content().strip() == RENDERED.html


def test_headers_stay_readable_and_the_mail_is_seven_bit_clean():
    message = _compose()
    raw = message.as_bytes()
    assert b"[DRI #100042]" in raw  # ASCII runs of the subject are not encoded
    assert raw.isascii()  # quoted-printable parts: no relay needs 8BITMIME
    assert max(len(line) for line in raw.split(b"\n")) <= 78
    assert str(message["Subject"]) == RENDERED.subject  # what `deliver` stores


def test_no_thread_headers_without_a_message_to_answer():
    raw = _compose(in_reply_to="").as_bytes()
    read = message_from_bytes(raw, policy=policy.default)
    assert read["In-Reply-To"] is None and read["References"] is None


@pytest.mark.parametrize(
    "subject",
    [
        RENDERED.subject,
        "[DRI #100042] Accusé de réception : " + "un sujet très long " * 12,
        "[DRI #100043] Accusé de réception : Re:  deux  espaces\tet une tabulation",
        "[DRI #100044] =?utf-8?q?d=C3=A9j=C3=A0?= cod\u00e9",
    ],
)
@pytest.mark.parametrize("reference", ["m1@client.example", "m" * 70 + "@client.example", ""])
def test_the_bytes_written_are_those_of_the_standard_generator(subject, reference):
    """Short ASCII headers are written as they are (no folding machinery): byte for byte what
    compat32 writes, for every header an acknowledgement has."""
    rendered = RenderedAck(subject, RENDERED.text, RENDERED.html)
    message = compose(
        rendered,
        sender="Support DRI <support@dri.example>",
        recipient="anne.legoff@armor-logistique.fr",
        message_id="ack-7.100042@dri.example",
        in_reply_to=reference,
        references=["m0@client.example"],
        language="fr",
        sent_at=datetime(2026, 12, 6, 21, 0, tzinfo=UTC),
    )
    assert wire_bytes(message) == message.as_bytes()
    assert wire_bytes(message, "\r\n") == message.as_bytes(
        policy=message.policy.clone(linesep="\r\n")
    )


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=400
    ).map(lambda t: t + "\n"),
    html=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r")),
)
def test_any_text_comes_back_from_the_quoted_printable_parts_as_rendered(text, html):
    """Long lines, trailing spaces and tabs, "=", a lone ".", characters of every width: the
    parts are encoded by `binascii`, and a reader decodes them to the rendered text."""
    raw = wire_bytes(_compose(rendered=RenderedAck("Sujet", text, html + "\n" if html else "")))
    assert raw.isascii() and max(len(line) for line in raw.split(b"\n")) <= 78
    read = message_from_bytes(raw, policy=policy.default)
    assert read.get_body(("plain",)).get_content() == text
    if html:
        assert read.get_body(("html",)).get_content() == html + "\n"


def test_every_header_but_the_subject_is_one_line():
    """Written as they are, not folded (the boundary is short enough for its line)."""
    subject = "[DRI #100042] Accusé de réception : " + "un sujet très long " * 8
    message = _compose(rendered=RenderedAck(subject, RENDERED.text, RENDERED.html))
    folded, name = set(), None
    for line in wire_bytes(message).split(b"\n\n", 1)[0].split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            folded.add(name)
        else:
            name = line.split(b":", 1)[0]
    assert folded == {b"Subject"}
