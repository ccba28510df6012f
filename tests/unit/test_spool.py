"""Big requests reach a parser process by file (ingest/spool.py), and no file stays behind.

A job's pickled arguments are a copy of the request in the listener's memory until the parser
has read them: above `spool.ABOVE` the bytes go by a private file the parser reads and
removes."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
from datetime import UTC, datetime

from ingest import spool
from ingest.analysis import Envelope, Rules
from ingest.parser_pool import ParserPool
from tests.unit.intake_fixtures import demo_directory

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def big_mail(attachment: bytes) -> bytes:
    return (
        b"From: Jean-Francois Herve <jf.herve@armor-logistique.fr>\r\n"
        b"Subject: Journaux du serveur, client 20481\r\nMessage-ID: <big@armor.example>\r\n"
        b'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b"--b1\r\nContent-Type: text/plain\r\n\r\nBonjour, les journaux en piece jointe.\r\n"
        b'--b1\r\nContent-Type: application/pdf; name="j.pdf"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(attachment).replace(b"\n", b"\r\n")
        + b"--b1--\r\n"
    )


def sizes(analysis) -> list[int]:
    """The attachments' sizes as the parser read them (it hands its content back as the JSON
    the journal stores)."""
    return [a["size"] for a in json.loads(analysis.stored.content)["attachments"]]


def envelope() -> Envelope:
    return Envelope("smtp", "jf.herve@armor-logistique.fr", ["support@dri.example"], NOW)


def test_a_big_mail_is_read_by_a_parser_process_from_a_file_that_is_then_gone():
    attachment = os.urandom(2 * spool.ABOVE)
    raw = big_mail(attachment)
    pool = ParserPool(demo_directory, Rules(), processes=1, reserved=0)
    pool.start()
    try:
        folder = pool._spool.folder
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        written, put = [], pool._spool.put
        pool._spool.put = lambda data: written.append(len(data)) or put(data)
        analysis = asyncio.run(pool.analyse(raw, envelope()))
        assert sizes(analysis) == [len(attachment)]
        assert analysis.message_id == "big@armor.example" and analysis.error is None
        assert written == [len(raw)]  # it went by file
        assert list(folder.iterdir()) == []  # the parser took it
        small = asyncio.run(pool.analyse(big_mail(b"tiny"), envelope()))  # by the pipe
        assert sizes(small) == [4]
        assert written == [len(raw)]
    finally:
        pool.close()
    assert not folder.exists()


def test_a_spooled_file_nobody_took_is_removed(tmp_path):
    store = spool.Spool()
    try:
        waiting = store.put(b"x" * 10)
        assert stat.S_IMODE(os.stat(waiting.path).st_mode) == 0o600
        assert spool.taken(("a", waiting)) == ("a", b"x" * 10)
        assert not os.path.exists(waiting.path)
        forgotten = store.put(b"y")
        forgotten.discard()
        forgotten.discard()  # twice: the parser and the listener may both try
        assert not os.path.exists(forgotten.path)
    finally:
        store.close()


def test_a_folder_cleaned_away_is_made_again_and_a_spool_that_cannot_write_uses_the_pipe():
    import shutil

    attachment = os.urandom(2 * spool.ABOVE)
    pool = ParserPool(demo_directory, Rules(), processes=1, reserved=0)
    pool.start()
    try:
        shutil.rmtree(pool._spool.folder)  # as a tmpfiles rule would, under a running listener
        analysis = asyncio.run(pool.analyse(big_mail(attachment), envelope()))
        assert sizes(analysis) == [len(attachment)]
        assert list(pool._spool.folder.iterdir()) == []

        def refuse(data: bytes):
            raise OSError(28, "No space left on device")

        pool._spool.put = refuse  # a full disk: the request still reaches its parser
        analysis = asyncio.run(pool.analyse(big_mail(attachment), envelope()))
        assert sizes(analysis) == [len(attachment)]
    finally:
        pool.close()
