"""Raw mail bytes become a `Content`, whatever the damage, and nothing is lost on the way."""

import base64
import hashlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.reading import mime
from ingest.reading.charsets import decode_bytes
from ingest.reading.mime import FORWARD_MARKER, message_ids, parse, sender

FIXTURES = Path(__file__).parent.parent / "fixtures" / "mime"
CPYTHON_DATA = Path("/root/.pyenv/versions/3.11.7/lib/python3.11/test/test_email/data")
CPYTHON_MAILS = sorted(CPYTHON_DATA.glob("*.txt")) if CPYTHON_DATA.is_dir() else []
ACCENTS = "Bonjour, l’équipe : « problème » réglé à 9 h, coût 50 €, cœur ça va."


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def mail(body: bytes, *headers: str) -> bytes:
    head = "\r\n".join(["From: jean@example.fr", "Subject: Test", *headers])
    return head.encode() + b"\r\n\r\n" + body


def test_a_plain_mail_gives_its_subject_sender_text_and_envelope():
    content = parse(
        mail(b"Le site est en panne.\r\n"),
        envelope_sender="bounce@example.fr",
        recipients=["Support+12345@DRI.example"],
        client_ip="192.0.2.1",
    )
    assert (content.channel, content.subject, content.text) == (
        "smtp",
        "Test",
        "Le site est en panne.",
    )
    assert content.from_address == "jean@example.fr"
    assert content.recipients == ["support+12345@dri.example"]
    assert (content.envelope_sender, content.client_ip) == ("bounce@example.fr", "192.0.2.1")


def test_the_parser_used_is_recorded_first_among_the_defects():
    assert parse(mail(b"x")).defects == ["parser:flanker"]


def test_an_html_only_mail_becomes_readable_text():
    content = parse(fixture("html_only.eml"))
    assert "alert" not in content.text and "color" not in content.text
    assert "ne répond plus été comme hiver & co" in content.text
    assert "https://www.exemple.fr/boutique?a=1&b=2" in content.text
    assert "Cordialement,\nFrançoise" in content.text
    assert any("serveur srv-web-01" in line for line in content.text.splitlines())
    assert content.from_name == "Françoise Léger"


def test_multipart_alternative_prefers_the_plain_part():
    content = parse(fixture("alternative.eml"))
    assert content.text == "Bonjour, la sauvegarde a échoué cette nuit."
    assert content.attachments == []


def test_an_empty_plain_alternative_gives_way_to_the_html():
    content = parse(fixture("alternative_empty_plain.eml"))
    assert "Seulement en HTML" in content.text
    assert [(a.content_type, a.disposition) for a in content.attachments] == [
        ("image/png", "inline")
    ]


def test_a_mislabelled_windows_1252_body_keeps_its_accents():
    assert parse(fixture("mislabelled_windows_1252.eml")).text == ACCENTS


def test_a_mislabelled_utf8_body_keeps_its_accents_and_says_so():
    content = parse(fixture("mislabelled_utf8.eml"))
    assert content.text == ACCENTS
    assert any("content is utf-8" in d for d in content.defects)


def test_a_body_without_charset_but_with_8bit_bytes_is_decoded():
    content = parse(fixture("no_charset_8bit.eml"))
    assert content.text == ACCENTS
    assert any("windows-1252" in d for d in content.defects)


@pytest.mark.parametrize(
    ("label", "encoding"),
    [("utf8", "utf-8"), ('"UTF-8"', "utf-8"), ("latin1", "cp1252"), ("cp1252", "cp1252"),
     ("windows-1252", "cp1252"), ("x-unknown", "cp1252"), ("x-unknown", "utf-8"),
     ("iso-8859-15", "utf-8"), ("made-up-charset", "utf-8")],
)  # fmt: skip
def test_charset_aliases_and_unknown_names_still_decode(label, encoding):
    body = ACCENTS.encode(encoding, "replace") if encoding == "cp1252" else ACCENTS.encode(encoding)
    content = parse(mail(body, f"Content-Type: text/plain; charset={label}"))
    assert content.text == ACCENTS


def test_a_declared_charset_is_honoured():
    body = "Привет, сервер".encode("koi8-r")
    assert parse(mail(body, "Content-Type: text/plain; charset=koi8-r")).text == "Привет, сервер"


def test_undecodable_bytes_are_replaced_and_recorded():
    text, defects = decode_bytes(b"caf\xe9 \x81", "iso-8859-1")
    assert text == "café \ufffd"
    assert any("U+FFFD" in d for d in defects)


def test_utf8_mixed_with_windows_1252_keeps_both():
    assert decode_bytes("déjà ".encode() + "été".encode("cp1252"))[0] == "déjà été"


def test_windows_paths_keep_their_backslashes():
    text = parse(fixture("windows_paths.eml")).text
    assert r"C:\Users\jean\Documents\rapport.docx et \\serveur\partage\_archives" in text
    assert r"Regex: \d+\.\*" in text
    assert r"Voir C:\Users\jean\Documents et \\serveur\partage\_archives\*.log" in text


def test_quoted_printable_and_base64_bodies_are_decoded():
    qp = mail(b"caf=C3=A9 cr=C3=A8me =\r\nsuite", "Content-Type: text/plain; charset=utf-8",
              "Content-Transfer-Encoding: quoted-printable")  # fmt: skip
    b64 = mail(base64.encodebytes("Le serveur répond.".encode()),
               "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64")  # fmt: skip
    assert parse(qp).text == "café crème suite"
    assert parse(b64).text == "Le serveur répond."


def test_bad_base64_is_decoded_as_far_as_possible_with_a_defect():
    content = parse(fixture("bad_base64.eml"))
    assert content.text == "Bonjour, la messagerie est en panne."
    assert [a.filename for a in content.attachments] == ["logs.zip"]
    assert sum("damaged base64" in d for d in content.defects) == 2


def test_every_attachment_is_listed():
    content = parse(fixture("attachments.eml"))
    listed = [(a.filename, a.content_type, a.disposition) for a in content.attachments]
    assert listed == [
        (None, "image/png", "inline"),
        ("facture été.pdf", "application/pdf", "attachment"),
        (None, "application/octet-stream", "attachment"),
        ("winmail.dat", "application/ms-tnef", "attachment"),
        ("journal.log", "text/plain", "attachment"),
        ("ancien.eml", "message/rfc822", "attachment"),
        (None, "image/jpeg", "inline"),
    ]
    assert "erreur 500" not in content.text  # an attached text file is not the body


def test_attachment_size_and_hash_are_those_of_the_decoded_bytes():
    pdf = next(
        a
        for a in parse(fixture("attachments.eml")).attachments
        if a.content_type == "application/pdf"
    )
    data = b"%PDF-1.4 fake pdf\n" * 20
    assert (pdf.size, pdf.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_a_forwarded_message_is_marked_as_forwarded():
    text = parse(fixture("forwarded.eml")).text
    own, forwarded = text.split(FORWARD_MARKER)
    assert own.strip() == "Je vous transfère l'alerte ci-dessous."
    assert forwarded.splitlines()[1:5] == [
        "From: monitoring@example.fr",
        "Date: Tue, 3 Sep 2024 03:12:00 +0200",
        "Subject: Disque plein sur srv-db-02",
        "To: marie@example.fr",
    ]
    assert forwarded.strip().endswith("Le disque /var est plein à 100 %.")


def test_an_attached_message_is_read_after_the_marker_and_listed():
    content = parse(fixture("attachments.eml"))
    assert content.text.startswith("Voici les fichiers.")
    assert f"{FORWARD_MARKER}\nFrom: Support <support@dri.example>" in content.text
    assert content.text.endswith("Votre ticket est ouvert.")


def test_a_defective_multipart_that_flanker_rejects_falls_back_to_the_standard_library():
    content = parse(fixture("multipart_without_boundary.eml"))
    assert content.defects[0] == "parser:email-default"
    assert any(d.startswith("flanker failed: DecodingError") for d in content.defects)
    assert "Le site est en panne." in content.text


def test_a_multipart_flanker_splits_into_nothing_falls_back_too():
    content = parse(fixture("defective_multipart.eml"))
    assert content.defects[0] == "parser:email-default"
    assert "Le serveur ne répond plus." in content.text


def test_a_part_flanker_cuts_across_a_boundary_falls_back_too():
    body = (
        b"--A\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n--B\r\nContent-Type: text/plain\r\n\r\n"
        b"--B--\r\n\r\n--A\r\nContent-Type: text/plain\r\n\r\nsuite\r\n--A--\r\n"
    )
    content = parse(mail(body, "Content-Type: multipart/mixed; boundary=A"))
    assert content.defects[0] == "parser:email-default"
    assert content.text == "suite"


def test_a_mail_no_parser_understands_still_gives_its_body(monkeypatch):
    def refuse(self, raw):
        raise ValueError("refused")

    monkeypatch.setattr(mime.FlankerView, "root", refuse)
    monkeypatch.setattr(mime.StdlibView, "root", refuse)
    content = parse(mail("Le site est en panne, été.".encode("cp1252")))
    assert content.defects[0] == "parser:none"
    assert (content.subject, content.text) == ("Test", "Le site est en panne, été.")


def test_headers_are_decoded_unfolded_and_kept_in_order():
    content = parse(fixture("headers.eml"))
    names = [name for name, _ in content.headers]
    assert names[:4] == ["Received", "From", "To", "Subject"]
    assert content.subject == "Problème de messagerie € réseau"
    assert content.header("X-Latin") == "café crème"
    assert content.header("Received").startswith(
        "from mx.example.fr (mx.example.fr [192.0.2.1]) by "
    )
    assert all("\r" not in v and "\n" not in v for _, v in content.headers)


def test_encoded_line_breaks_never_reach_header_values():
    content = parse(mail(b"x", "X-Test: =?utf-8?q?a=0D=0AInjected:_yes?="))
    assert content.header("X-Test") == "a Injected: yes"


def test_the_sender_name_is_decoded_and_unquoted():
    content = parse(fixture("headers.eml"))
    assert (content.from_address, content.from_name) == ("renee.darc@example.fr", "Renée d'Arc")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"Dupont, Jean" <Jean.Dupont@Example.FR>', ("jean.dupont@example.fr", "Dupont, Jean")),
        ("jean@example.fr (Jean Dupont)", ("jean@example.fr", "Jean Dupont")),
        ("=?utf-8?q?Fran=C3=A7ois?= <F@x.fr>", ("f@x.fr", "François")),
        ("<Only@Address.fr>", ("only@address.fr", "")),
        ("Jean <jean@example.fr", ("jean@example.fr", "Jean")),
        ("", ("", "")),
    ],
)
def test_sender_address_and_name_are_found(value, expected):
    assert sender(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<a@x.fr>", ["a@x.fr"]),
        ("  <  a@x.fr  > (sent by MUA)", ["a@x.fr"]),
        ("a@x.fr", ["a@x.fr"]),
        ("a@x.fr (old style comment)", ["a@x.fr"]),
        ("<a@x.fr> <b@x.fr>\t<c@x.fr>", ["a@x.fr", "b@x.fr", "c@x.fr"]),
        ("<a@x.fr>,<b@x.fr> <a@x.fr>", ["a@x.fr", "b@x.fr"]),
        ("Your message of Monday", []),
        ("", []),
    ],
)
def test_message_ids_tolerate_comments_spacing_and_missing_brackets(value, expected):
    assert message_ids(value) == expected


def test_message_id_in_reply_to_and_references_are_read():
    content = parse(fixture("headers.eml"))
    assert content.message_id == "abc.123@mail.example.fr"
    assert content.in_reply_to == ["prev-1@example.fr"]
    assert content.references == ["r1@example.fr", "r2@example.fr", "r3@example.fr"]


def test_a_mail_with_more_parts_than_the_limit_lists_what_it_can_and_says_so():
    parts = "".join(
        f"--m\r\nContent-Type: application/octet-stream\r\n\r\nx{i}\r\n" for i in range(1200)
    )
    content = parse(mail(f"{parts}--m--\r\n".encode(), "Content-Type: multipart/mixed; boundary=m"))
    assert len(content.attachments) == 999  # the root multipart is the first part walked
    assert any("201 parts not listed" in d for d in content.defects)


def test_the_part_limit_is_configurable():
    parts = "".join(f"--m\r\nContent-Type: image/png\r\n\r\nx{i}\r\n" for i in range(20))
    content = parse(
        mail(f"{parts}--m--\r\n".encode(), "Content-Type: multipart/mixed; boundary=m"), max_parts=5
    )
    assert len(content.attachments) == 4
    assert any("16 parts not listed" in d for d in content.defects)


def test_deeply_nested_multiparts_are_cut_with_a_defect():
    nested = "".join(
        f"Content-Type: multipart/mixed; boundary=d{i}\r\n\r\n--d{i}\r\n" for i in range(200)
    )
    content = parse(f"Subject: deep\r\n{nested}Content-Type: text/plain\r\n\r\nfond\r\n".encode())
    assert any("parts not listed" in d for d in content.defects)


def test_a_large_attachment_is_measured_exactly():
    data = bytes(range(256)) * 20_000  # 5 MB
    body = b"--m\r\nContent-Type: application/zip\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    body += base64.encodebytes(data) + b"--m--\r\n"
    content = parse(mail(body, "Content-Type: multipart/mixed; boundary=m"))
    assert content.attachments[0].size == len(data)


@pytest.mark.parametrize(
    "raw", [b"", b"\r\n", b"\r\n\r\nbody only", b"no headers at all", b"\xff\xfe\x00"]
)
def test_odd_inputs_still_give_a_content(raw):
    content = parse(raw)
    assert content.channel == "smtp"
    assert content.defects


@pytest.mark.skipif(not CPYTHON_MAILS, reason="CPython's email test data is not installed")
@pytest.mark.parametrize("path", CPYTHON_MAILS, ids=lambda p: p.name)
def test_cpython_email_test_data_parses_without_raising(path):
    assert parse(path.read_bytes()).defects[0].startswith("parser:")


REAL_MAILS = [p.read_bytes() for p in sorted(FIXTURES.glob("*.eml"))] + [
    p.read_bytes() for p in CPYTHON_MAILS
]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=4096))
def test_parse_never_raises_on_random_bytes(raw):
    parse(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(REAL_MAILS), st.data())
def test_parse_never_raises_on_mutated_real_messages(raw, data):
    mutated = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 12))):
        at = data.draw(st.integers(0, len(mutated)))
        action = data.draw(st.sampled_from(["insert", "delete", "replace"]))
        chunk = data.draw(
            st.sampled_from([b"\r\n", b"--", b"=?", b"\xe9", b"\x00", b";", b'"', b"\\", b"=\r\n"])
        )
        if action == "insert":
            mutated[at:at] = chunk
        elif action == "delete":
            del mutated[at : at + len(chunk)]
        else:
            mutated[at : at + len(chunk)] = chunk
    parse(bytes(mutated))


def test_a_forwarded_message_with_8bit_headers_keeps_its_accents():
    inner = "From: a@example.fr\r\nSubject: Réseau coupé\r\n\r\nTexte été.\r\n".encode()
    body = b"--f\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"--f--\r\n"
    content = parse(mail(body, "Content-Type: multipart/mixed; boundary=f"))
    assert "Subject: Réseau coupé" in content.text and "Texte été." in content.text


def test_a_charset_label_with_a_nul_byte_costs_no_header():
    content = parse(mail(b"x", "X-Odd: =?a\x00b?q?caf=E9?=", "X-Next: suite"))
    assert content.header("X-Odd") == "café"
    assert content.header("X-Next") == "suite"
