"""Files that hold customer data (SQLite database and its WAL, the outbox, keys) are owner-only.

They do not rely on the process's umask (a library must not change it under its callers): a
folder guichet creates is 0700, a database file it creates is 0600 before SQLite opens it
(SQLite gives the -wal and -shm files the database file's mode). For everything else a
service writes, run it with `UMask=0077` (docs/security.md).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def private_dir(path: Path | str) -> Path:
    """Create the folder and any missing parent, each one created 0700; existing ones are left
    as they are (a shared folder such as /tmp must keep its mode)."""
    path = Path(path)
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            continue
        os.chmod(folder, 0o700)  # mkdir's mode is filtered by the umask
    return path


def private_file(path: Path | str) -> None:
    """Create the file 0600 when it does not exist yet; an existing file is left alone."""
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
