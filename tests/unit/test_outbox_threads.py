"""The Maildir outbox shared by a worker's threads: every acknowledgement written, once each."""

from __future__ import annotations

import mailbox
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

from workers.acks.outbound import MaildirOutbox


def _ack(n: int) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"ack {n}"
    message.set_content(f"acknowledgement {n}")
    return message


def test_eight_threads_write_400_acknowledgements_without_one_failing(tmp_path):
    # A worker's threads share one outbox. Looking the new file up through the Maildir's
    # shared index once failed a send with "No message with key" under such concurrency.
    outbox = MaildirOutbox(tmp_path / "outbox")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: outbox.send(_ack(n), f"c{n}@example.org"), range(400)))
    written = list((tmp_path / "outbox" / "new").iterdir())
    assert len(written) == 400
    assert {stat.S_IMODE(os.stat(path).st_mode) for path in written} == {0o600}
    subjects = {m["Subject"] for m in mailbox.Maildir(str(tmp_path / "outbox"))}
    assert subjects == {f"ack {n}" for n in range(400)}
