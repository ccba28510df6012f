"""Broken and hostile mail over real SMTP: each is stored and ticketed, or refused with a precise code.

The small malformed messages live in `tests/fixtures/malformed/` (written by `write_fixtures()`,
run `python -m tests.integration.test_hostile_input`); the 5,000-part and the 30 MB messages
are generated here at test time, never committed.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import os
import re
import socket
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support.mail import customer_mail, send
from tests.support.services import IN_CI
from tests.support.stack import UNLIMITED_ACKS, Stack, stack_settings
from workers.store.engine import session_factory
from workers.store.schema import IntakeRow

pytestmark = pytest.mark.integration

MALFORMED = Path(__file__).resolve().parents[1] / "fixtures" / "malformed"
LINE_TOO_LONG = (552, "5.3.4 Message size exceeds fixed limit")  # a DATA "line" past the size
QUEUED = re.compile(r"2\.0\.0 Ok: queued as ([0-9a-f]{32})$")
MB = 1024 * 1024


# -- the malformed set ------------------------------------------------------------------


def _head(subject: bytes, extra: bytes = b"") -> bytes:
    return (
        b"From: Client Test <client.test@example.org>\r\n"
        b"To: support@dri.example\r\n"
        b"Subject: " + subject + b"\r\n"
        b"Message-ID: <" + hashlib.md5(subject).hexdigest().encode() + b"@example.org>\r\n"
        b"MIME-Version: 1.0\r\n" + extra
    )


def malformed_messages() -> dict[str, bytes]:
    """Small hostile messages, CRLF line ends, each a few kB at most."""
    return {
        "broken-boundary": _head(
            b"boundary never closed", b'Content-Type: multipart/mixed; boundary="XYZ"\r\n'
        )
        + b"\r\n--XYZ\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--XYZ\r\n"
        b"Content-Type: text/plain\r\n\r\nno closing boundary, and a wrong one:\r\n--ABC--\r\n",
        "missing-boundary-parameter": _head(
            b"multipart without boundary", b"Content-Type: multipart/alternative\r\n"
        )
        + b"\r\nJust text where parts were promised.\r\n",
        "bad-base64": _head(
            b"bad base64",
            b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n",
        )
        + b"\r\nQm9uam91ciBs!!!ZSBzZXJ2ZXVy*&^ IGVzdCBlbiBwYW5uZQ=\r\n===\r\n",
        "bad-quoted-printable": _head(
            b"broken QP",
            b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: quoted-printable\r\n",
        )
        + b"\r\nLe serveur =ZZ est =E9 en panne=\r\n=C3=\r\n",
        "8bit-headers": (
            b"From: J\xe9r\xf4me L\xe9on <jerome@example.org>\r\n"
            b"To: support@dri.example\r\n"
            b"Subject: Probl\xc3\xa8me urgent \xe0 r\xe9soudre \xff\xfe\r\n"
            b"Message-ID: <8bit-headers@example.org>\r\n\r\n"
            b"Le site ne r\xe9pond plus.\r\n"
        ),
        "unknown-charset": _head(
            b"=?x-klingon?Q?Qapla=27?= =?utf-8?B?invalid***?=",
            b"Content-Type: text/plain; charset=x-unknown-klingon\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n",
        )
        + b"\r\nBody in an unknown charset: \x8e\x9f\xa4 nuqneH\r\n",
        "mislabelled-utf8": _head(
            b"latin-1 body labelled utf-8", b"Content-Type: text/plain; charset=utf-8\r\n"
        )
        + b"\r\nCaf\xe9 cr\xe8me \xe0 emporter, serveur HS.\r\n",
        "nul-bytes": _head(b"nul\x00 in subject")
        + b"X-Nul: a\x00b\r\n\r\nBody with NUL\x00 bytes\x00\x00 inside.\r\n",
        "no-body-no-blank-line": b"From: a@example.org\r\nSubject: headers only\r\n",
        "not-a-header-first": b"this is not a header line\r\n\r\nand a body\r\n",
        "empty-header-names": b": no name\r\nFrom: b@example.org\r\n\r\nbody\r\n",
        "deep-nesting": _head(
            b"200 nested multiparts", b'Content-Type: multipart/mixed; boundary="b0"\r\n'
        )
        + b"\r\n"
        + b"".join(
            f'--b{i}\r\nContent-Type: multipart/mixed; boundary="b{i + 1}"\r\n\r\n'.encode()
            for i in range(200)
        )
        + b"--b200\r\nContent-Type: text/plain\r\n\r\ndeep\r\n",
        "huge-references": _head(
            b"many references",
            b"References: "
            + b"\r\n ".join(f"<ref{i}@example.org>".encode() for i in range(3000))
            + b"\r\nIn-Reply-To: <<<>>> (comment (nested)) <x@y>\r\n",
        )
        + b"\r\nReply with thousands of references.\r\n",
        "crlf-injection-subject": _head(
            b"=?utf-8?q?Hello=0D=0ABcc:_victim@example.net=0D=0A=0D=0A{{_7*7_}}?="
        )
        + b"\r\nTemplate syntax {{ 7*7 }} {% raw %} and {# comment #} in the body.\r\n",
        "binary-garbage": bytes(range(256)).replace(b"\r", b"").replace(b"\n", b"") + b"\r\n",
    }


def many_parts(count: int = 5000) -> bytes:
    parts = b"".join(
        b"--P\r\nContent-Type: text/plain\r\n\r\npart " + str(i).encode() + b"\r\n"
        for i in range(count)
    )
    return (
        _head(b"5000 parts", b'Content-Type: multipart/mixed; boundary="P"\r\n')
        + b"\r\n"
        + parts
        + b"--P--\r\n"
    )


def big_attachment(size: int = 30 * MB) -> bytes:
    payload = base64.encodebytes(os.urandom(size * 3 // 4)).replace(b"\n", b"\r\n")
    return (
        _head(b"30 MB attachment", b'Content-Type: multipart/mixed; boundary="B"\r\n')
        + b"\r\n--B\r\nContent-Type: text/plain\r\n\r\nVoir la sauvegarde jointe.\r\n"
        b'--B\r\nContent-Type: application/octet-stream; name="dump.sql"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"--B--\r\n"
    )


def write_fixtures(directory: Path = MALFORMED) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in malformed_messages().items():
        (directory / f"{name}.eml").write_bytes(data)


def cpython_email_data() -> list[Path]:
    """The email test data shipped with this Python (located at run time)."""
    try:
        import test.test_email as suite

        folder = Path(suite.__file__).parent / "data"
    except ImportError:
        folder = None
    if folder is None or not folder.is_dir():
        if IN_CI:
            pytest.fail("CPython's test.test_email data is missing")
        pytest.skip("CPython's test.test_email data is not installed")
    return sorted(p for p in folder.iterdir() if p.is_file())


# -- a raw SMTP client: exactly the bytes we choose, no dot-stuffing, no line-end fixes --


class RawSmtp:
    def __init__(self, address: tuple[str, int]):
        self.sock = socket.create_connection(address, timeout=60)
        self.buffer = b""
        assert self.reply()[0] == 220
        self.command(b"EHLO raw.example")

    def reply(self) -> tuple[int, str]:
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("closed by the listener")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line.decode(errors="replace"))
            if line[3:4] != b"-":
                return int(line[:3]), "\n".join(x[4:] for x in lines)

    def command(self, line: bytes) -> tuple[int, str]:
        self.sock.sendall(line + b"\r\n")
        return self.reply()

    def transaction(self, data: bytes, stuff: bool = True) -> tuple[int, str]:
        """MAIL, RCPT, DATA; `data` sent as is (dot-stuffed at CRLF line starts if `stuff`)."""
        assert self.command(b"MAIL FROM:<client.test@example.org>")[0] == 250
        assert self.command(b"RCPT TO:<support@dri.example>")[0] == 250
        assert self.command(b"DATA")[0] == 354
        if stuff:
            data = re.sub(rb"(?<=\r\n)\.", b"..", data)
            data = b"." + data if data.startswith(b".") else data
        ending = b".\r\n" if data.endswith(b"\r\n") else b"\r\n.\r\n"
        self.sock.sendall(data + ending)
        return self.reply()

    def quit(self) -> list[tuple[int, str]]:
        """QUIT, then every reply until the listener closes: exactly one (221) when sane."""
        self.sock.sendall(b"QUIT\r\n")
        replies = []
        try:
            while True:
                replies.append(self.reply())
        except (ConnectionError, OSError):
            pass
        self.sock.close()
        return replies


def crlf(data: bytes) -> bytes:
    """What a MUA would send: every bare LF or CR becomes CRLF."""
    return re.sub(rb"\r\n|\r|\n", b"\r\n", data)


# -- the stack --------------------------------------------------------------------------


@pytest.fixture
def hostile_stack(tmp_path, database_url, redis_url, sink):
    settings = stack_settings(
        tmp_path / "home",
        database_url,
        redis_url,
        sink.address,
        max_message_size=40 * MB,
        **UNLIMITED_ACKS,
        parse_processes=1,
    )
    running = Stack(settings).start()
    yield running
    running.stop()


def still_serving(stack: Stack, after: str) -> None:
    code, text = send(stack.smtp_address, customer_mail(subject=f"Normal mail after {after}"))
    assert code == 250, f"the listener stopped serving after {after}: {code} {text}"


def intakes(stack: Stack, ids: list[str]) -> dict[str, IntakeRow]:
    with session_factory(stack.settings.database)() as session:
        rows = session.scalars(select(IntakeRow).where(IntakeRow.id.in_(ids))).all()
        return {r.id: r for r in rows}


def wait_filed(stack: Stack, ids: list[str], timeout: float = 90) -> dict[str, IntakeRow]:
    deadline = time.monotonic() + timeout
    rows = intakes(stack, ids)
    while time.monotonic() < deadline and any(r.status == "received" for r in rows.values()):
        time.sleep(0.3)
        rows = intakes(stack, ids)
    return rows


def assert_stored_and_ticketed(stack: Stack, sent: dict[str, bytes]) -> None:
    rows = wait_filed(stack, list(sent))
    assert set(rows) == set(sent), "an accepted message is not in the journal"
    for intake_id, data in sent.items():
        row = rows[intake_id]
        assert row.raw == data, f"{intake_id}: stored bytes differ from the bytes sent"
        assert row.status in ("ticketed", "duplicate"), (intake_id, row.status, row.error)
        assert row.ticket_id is not None


# -- the tests --------------------------------------------------------------------------


def test_every_cpython_email_test_message_is_stored_and_ticketed_or_refused_precisely(
    hostile_stack,
):
    accepted: dict[str, bytes] = {}
    refused: dict[str, tuple[int, str]] = {}
    for path in cpython_email_data():
        data = crlf(path.read_bytes())
        data = data if data.endswith(b"\r\n") else data + b"\r\n"
        client = RawSmtp(hostile_stack.smtp_address)
        code, text = client.transaction(data)
        assert client.quit() == [(221, "2.0.0 Bye")]
        if code == 250:
            accepted[QUEUED.match(text).group(1)] = data
        else:
            refused[path.name] = (code, text)
        still_serving(hostile_stack, path.name)
    # Only non-mail binaries (images, sounds) may be refused, and only for their line length.
    assert all(not name.startswith("msg_") for name in refused), refused
    assert set(refused.values()) <= {LINE_TOO_LONG}, refused
    assert len(accepted) >= 45
    assert_stored_and_ticketed(hostile_stack, accepted)


def test_every_malformed_message_is_stored_and_ticketed_and_the_listener_keeps_serving(
    hostile_stack, sink
):
    cases = {path.stem: path.read_bytes() for path in sorted(MALFORMED.glob("*.eml"))}
    assert cases == malformed_messages(), "run python -m tests.integration.test_hostile_input"
    cases["5000-parts"] = many_parts()
    accepted: dict[str, bytes] = {}
    replies = {}
    for name, data in cases.items():
        client = RawSmtp(hostile_stack.smtp_address)
        replies[name] = client.transaction(data)
        assert client.quit() == [(221, "2.0.0 Bye")]
        assert replies[name][0] == 250, (name, replies[name])
        accepted[QUEUED.match(replies[name][1]).group(1)] = data
        still_serving(hostile_stack, name)
    assert_stored_and_ticketed(hostile_stack, accepted)


def test_a_customer_subject_cannot_inject_headers_or_template_code_into_the_acknowledgement(
    hostile_stack, sink
):
    data = malformed_messages()["crlf-injection-subject"]
    code, _ = RawSmtp(hostile_stack.smtp_address).transaction(data)
    assert code == 250
    [delivery] = sink.handler.wait_for(1, timeout=30)
    assert delivery["rcpt_tos"] == ["client.test@example.org"]
    ack = email.message_from_bytes(delivery["data"], policy=email.policy.default)
    assert ack["Bcc"] is None and "victim@example.net" not in str(ack["To"])
    head = delivery["data"].split(b"\r\n\r\n", 1)[0]
    assert not re.search(rb"(?mi)^bcc:", head)
    assert "49" not in ack["Subject"]  # {{ 7*7 }} stayed text


def test_a_30_mb_attachment_is_accepted_when_the_size_limit_allows_it(hostile_stack):
    data = big_attachment()
    client = RawSmtp(hostile_stack.smtp_address)
    assert client.command(f"MAIL FROM:<big@example.org> SIZE={len(data)}".encode())[0] == 250
    client.command(b"RSET")
    code, text = client.transaction(data)
    assert client.quit() == [(221, "2.0.0 Bye")]
    assert code == 250, text
    still_serving(hostile_stack, "the 30 MB attachment")
    assert_stored_and_ticketed(hostile_stack, {QUEUED.match(text).group(1): data})


def test_smtp_smuggling_sequences_stay_inside_the_body(hostile_stack):
    smuggled = (
        b"MAIL FROM:<ceo@dri.example>\r\nRCPT TO:<support@dri.example>\r\nDATA\r\n"
        b"From: ceo@dri.example\r\nSubject: smuggled\r\n\r\nsmuggled body\r\n"
    )
    data = (
        _head(b"smuggling attempt")
        + b"\r\nbefore\r\n"
        + b"bare LF dot\n.\n"
        + smuggled
        + b"bare CR dot\r.\r\n"
        + smuggled
        + b"CRLF dot LF\r\n.\n"
        + smuggled
        + b"after\r\n"
    )
    client = RawSmtp(hostile_stack.smtp_address)
    code, text = client.transaction(data, stuff=False)
    assert code == 250, text
    assert client.quit() == [(221, "2.0.0 Bye")], "a smuggled command was answered"
    intake_id = QUEUED.match(text).group(1)
    [row] = wait_filed(hostile_stack, [intake_id]).values()
    assert row.raw.count(b"smuggled body") == 3 and row.raw.endswith(b"after\r\n")
    assert row.status == "ticketed"
    subjects = [t["subject"] for t in hostile_stack.tickets()]
    assert "smuggled" not in subjects


def test_bare_line_feeds_are_accepted_and_stored_whatever_the_length(hostile_stack):
    short = _head(b"bare LF").replace(b"\r\n", b"\n") + b"\nbody\nwith bare LF\n\r\n"
    long = short.replace(b"body\n", b"body line\n" * 200)  # one 2 kB "line" to an SMTP reader
    client = RawSmtp(hostile_stack.smtp_address)
    stored = {}
    for raw in (short, long):
        code, text = client.transaction(raw, stuff=False)
        assert code == 250, text
        stored[QUEUED.match(text).group(1)] = raw
    assert client.quit() == [(221, "2.0.0 Bye")]
    still_serving(hostile_stack, "a bare-LF message")
    assert_stored_and_ticketed(hostile_stack, stored)


if __name__ == "__main__":
    write_fixtures()
