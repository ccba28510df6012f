"""Big requests handed to a parser process by file instead of through its pipe.

A job's arguments go to the parser as one pickled frame, a copy of the request that stays in
the listener's memory until the parser has read all of it (with the executor we used before,
until the next job was sent). Above `ABOVE` bytes the listener writes the request to a private
file instead (the page cache, not its own memory), the parser reads it and removes it; the
listener removes it too when the parser never got to it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

ABOVE = 1 << 20


@dataclass(frozen=True)
class Spooled:
    """A request's bytes waiting in a file for the parser that takes them."""

    path: str

    def take(self) -> bytes:
        data = Path(self.path).read_bytes()
        self.discard()
        return data

    def discard(self) -> None:
        Path(self.path).unlink(missing_ok=True)


class Spool:
    """A private folder (0700, files 0600) for the requests on their way to a parser."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="guichet-parse-"))

    def put(self, data: bytes) -> Spooled:
        # A long-running listener may see its folder cleaned away (tmpfiles rules): made again.
        self.folder.mkdir(mode=0o700, exist_ok=True)
        handle, path = tempfile.mkstemp(dir=self.folder, suffix=".req")
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        return Spooled(path)

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def taken(args: tuple) -> tuple:
    """The job's arguments with every spooled one read back (in the parser)."""
    return tuple(arg.take() if isinstance(arg, Spooled) else arg for arg in args)
