"""Who this process is, as a claim records it, and whether a process id on this host is still
alive (home lock holders, claimants of a send or a page)."""

from __future__ import annotations

import os
import socket


def claimant() -> dict:
    """This process, as the sweeper can later check it: host name and pid."""
    return {"host": socket.gethostname(), "pid": os.getpid()}


def alive(pid: int) -> bool:
    """True when a process with this id exists, even one we may not signal."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
