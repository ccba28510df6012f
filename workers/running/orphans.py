"""The processes `guichet run` starts end with it, even when it cannot stop them itself.

A supervisor killed outright (SIGKILL, the OOM killer) never runs its orderly stop: without
this its workers would go on consuming, its listener listening, its Redis serving, and all of
them holding the home's lock, so that the next `guichet run` is refused until someone finds
and kills them by hand. On Linux the kernel sends each child SIGTERM when the supervisor
dies (PR_SET_PDEATHSIG, kept across exec): each role then stops as it does on `kill -TERM`
(the listener stops accepting, the workers finish the messages in hand) and Redis writes its
append-only file. Elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl


_PRCTL = _prctl()  # looked up here: nothing is loaded between fork and exec


def ending_with_this_process() -> Callable[[], None] | None:
    """A `preexec_fn` for Popen (None where unsupported): the child is sent SIGTERM when the
    calling process dies. Spawn from a thread that lives as long as the process (the kernel
    watches the thread that forked), as the supervisor's main thread does."""
    if _PRCTL is None:
        return None
    parent = os.getpid()

    def end_with_parent() -> None:  # in the child, after fork, before exec
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return end_with_parent
