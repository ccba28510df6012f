"""Reading mail archives, the receipt time replay gives each message, and where it resumes."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime, timedelta

import pytest

from ingest.analysis import Analysis, Envelope, review_decision
from ingest.edges.archives import ArchivedMail, ArchiveError, open_archive
from ingest.edges.replay import archive_adjustment, digest, received_time, resume_point
from ingest.model import Decision

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def message(index: int, date: str = "Tue, 04 Mar 2025 10:30:00 +0100") -> bytes:
    return (
        f"From: a{index}@client.example\nTo: support@dri.example\nDate: {date}\n"
        f"Subject: {index}\n\nFrom the start, a line that mbox escapes.\n"
    ).encode()


def test_an_mbox_yields_its_messages_in_order_without_the_separator_line(tmp_path):
    box = mailbox.mbox(tmp_path / "export.mbox")
    for index in range(3):
        box.add(message(index))
    box.flush()
    archive = open_archive(tmp_path / "export.mbox")
    mails = list(archive.mails())
    assert (archive.kind, len(archive)) == ("mbox", 3)
    assert [m.raw.split(b"\n", 1)[0] for m in mails] == [
        b"From: a0@client.example",
        b"From: a1@client.example",
        b"From: a2@client.example",
    ]
    assert [m.position for m in archive.mails(2)] == [2]
    assert mails[0].stamp is not None


def test_a_maildir_is_read_from_new_and_cur_in_delivery_order(tmp_path):
    box = mailbox.Maildir(tmp_path / "Maildir")
    keys = [box.add(message(index)) for index in range(3)]
    archive = open_archive(tmp_path / "Maildir")
    assert archive.kind == "Maildir" and len(archive) == 3
    assert [m.label for m in archive.mails()] == sorted(keys)


def test_eml_files_are_found_in_subfolders_in_name_order_and_one_file_is_an_archive(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.eml").write_bytes(message(2))
    (tmp_path / "1.eml").write_bytes(message(1))
    (tmp_path / "notes.txt").write_text("not mail")
    archive = open_archive(tmp_path)
    assert [m.label for m in archive.mails()] == ["1.eml", "b/2.eml"]
    single = open_archive(tmp_path / "1.eml")
    assert [m.raw for m in single.mails()] == [message(1)]


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda p: p, "does not exist"),
        (lambda p: (p.mkdir(), p)[1], "neither cur/ and new/"),
        (lambda p: (p.write_text("hello"), p)[1], "neither an mbox"),
    ],
    ids=["missing", "empty folder", "text file"],
)
def test_what_is_not_an_archive_is_refused_with_what_was_expected(tmp_path, make, expected):
    with pytest.raises(ArchiveError, match=expected):
        open_archive(make(tmp_path / "thing"))


def mail(raw: bytes, stamp: datetime | None = None) -> ArchivedMail:
    return ArchivedMail(0, raw, "m", stamp)


def test_a_replayed_message_is_received_when_its_date_says():
    assert received_time(mail(message(1)), NOW) == datetime(2025, 3, 4, 9, 30, tzinfo=UTC)


def test_an_unreadable_or_absurd_date_falls_back_to_the_archive_time_then_to_now():
    stamp = datetime(2024, 5, 6, tzinfo=UTC)
    assert received_time(mail(message(1, "yesterday-ish"), stamp), NOW) == stamp
    assert received_time(mail(message(1, "Thu, 01 Jan 1970 00:00:00 +0000")), NOW) == NOW
    future = NOW + timedelta(days=30)
    assert (
        received_time(mail(message(1, future.strftime("%a, %d %b %Y %H:%M:%S +0000"))), NOW) == NOW
    )


def test_a_date_a_few_hours_ahead_is_believed_but_never_after_now():
    ahead = (NOW + timedelta(hours=3)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    assert received_time(mail(message(1, ahead)), NOW) == NOW


def analysis(decision: Decision | None = None) -> Analysis:
    return Analysis(decision or Decision(), "key")


def test_replayed_mail_is_never_paged_and_acknowledged_only_when_asked():
    quiet, loud = analysis(), analysis()
    archive_adjustment(acknowledge=False)(quiet)
    archive_adjustment(acknowledge=True)(loud)
    assert [f.value for f in loud.decision.trail if f.field == "page"] == [False]
    assert quiet.decision.suppression.acknowledge is False
    assert quiet.decision.suppression.skip_reason == "replayed-archive"
    assert loud.decision.suppression.acknowledge is True
    assert {f.field for f in quiet.decision.trail if f.rule == "replay"} == {"page", "acknowledge"}


def test_mail_already_kept_from_acknowledgement_keeps_its_own_reason():
    review = analysis(review_decision(Envelope("replay", "", [], NOW), "parse failed"))
    archive_adjustment(acknowledge=False)(review)
    assert review.decision.suppression.skip_reason == "needs-review"


class Checkpoints:
    def __init__(self, saved=None):
        self.saved = saved

    def load(self, path):
        return self.saved

    def save(self, path, position, last_sha256):
        self.saved = (position, last_sha256)


def test_a_replay_resumes_after_the_last_message_only_if_the_archive_is_unchanged(tmp_path):
    for index in range(3):
        (tmp_path / f"{index}.eml").write_bytes(message(index))
    archive = open_archive(tmp_path)
    assert resume_point(archive, Checkpoints()) == 0
    assert resume_point(archive, Checkpoints((2, digest(message(1))))) == 2
    assert resume_point(archive, Checkpoints((2, digest(b"something else")))) == 0
    assert resume_point(archive, Checkpoints((9, digest(message(1))))) == 0
