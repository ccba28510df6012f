"""Mail archives: an mbox file, a Maildir, a folder of .eml files (or one .eml), in a stable order."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

MBOX_START = b"From "


class ArchiveError(Exception):
    """PATH is not an archive guichet can read; the message says what it expected."""


@dataclass(frozen=True)
class ArchivedMail:
    position: int  # 0-based, in the archive's order
    raw: bytes
    label: str  # where it is, for people: "mbox message 12", a file name
    stamp: datetime | None  # the archive's own time for it (mbox From_ line, file time)


class Archive(Protocol):
    """The messages of one archive; `mails(start)` skips the first `start` without reading them."""

    kind: str
    path: Path

    def __len__(self) -> int: ...

    def mails(self, start: int = 0) -> Iterator[ArchivedMail]: ...


class MboxArchive:
    kind = "mbox"

    def __init__(self, path: Path):
        self.path = path
        self.box = mailbox.mbox(path, create=False)
        self.keys = self.box.keys()  # one pass over the file: offsets only

    def __len__(self) -> int:
        return len(self.keys)

    def mails(self, start: int = 0) -> Iterator[ArchivedMail]:
        for position in range(start, len(self.keys)):
            data = self.box.get_bytes(self.keys[position], from_=True)
            from_line, _, raw = data.partition(b"\n")
            label = f"{self.path.name} message {position + 1}"
            yield ArchivedMail(position, raw, label, _from_line_time(from_line))


class MaildirArchive:
    kind = "Maildir"

    def __init__(self, path: Path):
        self.path = path
        self.box = mailbox.Maildir(path, factory=None, create=False)
        self.keys = sorted(self.box.keys())  # unique names start with the delivery time

    def __len__(self) -> int:
        return len(self.keys)

    def mails(self, start: int = 0) -> Iterator[ArchivedMail]:
        for position in range(start, len(self.keys)):
            key = self.keys[position]
            yield ArchivedMail(position, self.box.get_bytes(key), key, _unique_name_time(key))


class EmlArchive:
    kind = ".eml files"

    def __init__(self, path: Path):
        self.path = path
        if path.is_file():
            self.files = [path]
        else:
            self.files = sorted(p for p in path.rglob("*.eml") if p.is_file())

    def __len__(self) -> int:
        return len(self.files)

    def mails(self, start: int = 0) -> Iterator[ArchivedMail]:
        for position in range(start, len(self.files)):
            file = self.files[position]
            stamp = datetime.fromtimestamp(file.stat().st_mtime, UTC)
            label = str(file.relative_to(self.path)) if file != self.path else file.name
            yield ArchivedMail(position, file.read_bytes(), label, stamp)


def open_archive(path: Path) -> Archive:
    """The archive at `path`, recognised by its shape; ArchiveError says what was expected."""
    if not path.exists():
        raise ArchiveError(f"{path} does not exist")
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            return MaildirArchive(path)
        archive = EmlArchive(path)
        if len(archive):
            return archive
        raise ArchiveError(
            f"{path} is a folder with neither cur/ and new/ (a Maildir) nor any .eml file"
        )
    with path.open("rb") as file:
        head = file.read(len(MBOX_START))
    if head == MBOX_START:
        return MboxArchive(path)
    if path.suffix.lower() == ".eml":
        return EmlArchive(path)
    raise ArchiveError(
        f"{path} is neither an mbox (its first line would start with 'From ') nor an .eml file"
    )


def _from_line_time(line: bytes) -> datetime | None:
    """'From sender Tue Mar  4 10:00:00 2025' → that moment (taken as UTC, as mbox writers do)."""
    words = line.decode("ascii", "replace").split()
    if len(words) < 7:
        return None
    try:
        moment = datetime.strptime(" ".join(words[-5:]), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC)


def _unique_name_time(key: str) -> datetime | None:
    """Maildir unique names begin with the delivery time in seconds."""
    seconds = key.split(".", 1)[0]
    if not seconds.isdigit() or len(seconds) > 12:
        return None
    return datetime.fromtimestamp(int(seconds), UTC)
