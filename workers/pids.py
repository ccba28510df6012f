"""Whether a process id on this host is still alive (home lock holders, claimants of a send)."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    """True when a process with this id exists, even one we may not signal."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
