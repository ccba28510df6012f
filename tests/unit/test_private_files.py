"""Database, WAL, outbox and keys are created owner-only, whatever the umask of the process."""

from __future__ import annotations

import os
import stat
from email.message import EmailMessage

import pytest
from sqlalchemy import text

from workers.acks.outbound import MaildirOutbox
from workers.store.engine import make_engine


@pytest.fixture
def open_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_sqlite_database_its_wal_and_its_folder_are_owner_only(tmp_path, open_umask):
    database = tmp_path / "var" / "state" / "guichet.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("create table t (x integer)"))
        connection.execute(text("insert into t values (1)"))
    wal = database.with_name(database.name + "-wal")
    assert wal.exists()
    assert [mode(p) for p in (database, wal)] == [0o600, 0o600]
    assert [mode(p) for p in (database.parent, database.parent.parent)] == [0o700, 0o700]
    engine.dispose()


def test_an_existing_folder_keeps_its_mode(tmp_path, open_umask):
    os.chmod(tmp_path, 0o755)
    make_engine(f"sqlite:///{tmp_path / 'g.sqlite3'}").dispose()
    assert mode(tmp_path) == 0o755 and mode(tmp_path / "g.sqlite3") == 0o600


def test_outbox_folders_and_messages_are_owner_only(tmp_path, open_umask):
    outbox = MaildirOutbox(tmp_path / "var" / "outbox")
    message = EmailMessage()
    message["Subject"] = "ack"
    message.set_content("hello")
    outbox.send(message, "someone@example.org")
    [written] = list((tmp_path / "var" / "outbox" / "new").iterdir())
    assert mode(written) == 0o600
    assert {mode(tmp_path / "var"), mode(tmp_path / "var" / "outbox")} == {0o700}
