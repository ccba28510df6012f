"""The plainest MAIL/RCPT addresses are read without the header parser, with the same result."""

from __future__ import annotations

from types import SimpleNamespace

from aiosmtpd.smtp import SMTP
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingest.edges.smtp_addresses import plain_address

PARSER = SimpleNamespace(local_part_limit=0)  # aiosmtpd's own reading, no length limit
PIECES = st.sampled_from(
    [
        "a",
        "Z",
        "0",
        "jf",
        "x-y",
        "_",
        "+tag",
        "'",
        "`",
        "{",
        "~",
        ".",
        "..",
        "@",
        "<",
        ">",
        " ",
        "\t",
        "(",
        ")",
        "(c)",
        '"',
        '"a b"',
        "\\",
        ":",
        ",",
        ";",
        "[",
        "]",
        "[1.2.3.4]",
        "é",
        "ß",
        "=",
        "SIZE=100",
        "BODY=8BITMIME",
        "-",
        "\r",
        "\n",
    ]
)


def _parser(arg: str):
    return SMTP._getaddr(PARSER, arg)


@settings(max_examples=1500, deadline=None)
@given(st.lists(PIECES, max_size=14).map("".join))
@example("<jf@armor-logistique.fr>")
@example("<jf@armor-logistique.fr> SIZE=5120 BODY=8BITMIME")
@example("<jf@armor-logistique.fr>  \tSIZE=5120")
@example("<jf@armor-logistique.fr> (comment) SIZE=1")
@example("<a..b@c>")
@example("<a@b.>")
@example("<.a@b>")
@example("<a@b>x")
@example("<@route:a@b>")
@example('<"a b"@c>')
def test_what_is_read_without_the_parser_is_what_the_parser_reads(arg):
    plain = plain_address(arg)
    if plain is not None:
        assert plain == _parser(arg)


def test_the_usual_commands_take_the_short_way():
    for arg in (
        "<jf@armor-logistique.fr>",
        "<support@dri.example> SIZE=5502",
        "<o'brien+tickets@mail.example.co.uk> BODY=8BITMIME SMTPUTF8",
    ):
        assert plain_address(arg) is not None
        assert plain_address(arg) == _parser(arg)


def test_anything_else_goes_to_the_parser():
    for arg in ("<>", "jf@armor-logistique.fr", '<"a b"@c>', "<a@[1.2.3.4]>", "<é@x.fr>"):
        assert plain_address(arg) is None


def test_the_listener_reads_the_plainest_form_without_the_parser_and_the_rest_with_it(
    monkeypatch,
):
    import aiosmtpd.smtp

    from ingest.edges.smtp_session import GuichetSMTP

    session = object.__new__(GuichetSMTP)  # only its address reading is exercised
    session.local_part_limit = 0
    parsed = []
    real = aiosmtpd.smtp.get_angle_addr
    monkeypatch.setattr(aiosmtpd.smtp, "get_angle_addr", lambda v: parsed.append(v) or real(v))
    assert session._getaddr("<jf@armor-logistique.fr> SIZE=10") == (
        "jf@armor-logistique.fr",
        "SIZE=10",
    )
    assert parsed == []
    assert session._getaddr('<"a b"@c.fr>') == ('"a b"@c.fr', "")
    assert parsed == ['<"a b"@c.fr>']
    session.local_part_limit = 3  # the limit aiosmtpd applies holds on the short way too
    assert session._getaddr("<abcd@c.fr>") == (None, None)
