"""Parser processes driven from the event loop: one pipe each, no thread in between.

`concurrent.futures.ProcessPoolExecutor` reaches its processes through two threads of its own
(a manager that matches results to futures, a feeder that pickles jobs) and a queue shared by
every process: each job woke both threads and handed the interpreter lock around four times,
≈ 0.35 ms of the listener's CPU per mail, more than its SMTP session. Here each process has its
own socket pair; the event loop writes a job to an idle process and reads the answer when the
socket is readable, without blocking on either side. Knowing which process holds which job
also lets us kill just the one stuck in C code past its time, and replace just the one that
died, where the executor could only be thrown away whole.

Frames are an 8-byte length and a pickle. A process handles one job at a time.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import pickle
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger("guichet.parser")

_LENGTH = 8
_ORPHAN: Any = object()  # the job of a caller whose event loop has gone: its answer is dropped


class ParserDied(Exception):
    """The process holding the job ended (or was killed) before answering."""


class JobFailed(Exception):
    """The job raised in the parser process; the message is its repr."""


# -- the parser process side ------------------------------------------------------------------


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _serve(channel, initializer: Callable, initargs: tuple, function: Callable) -> None:
    """A parser process: initialise, then answer one job at a time until the pipe closes."""
    fd = channel.fileno()
    initializer(*initargs)
    while True:
        header = _read_exactly(fd, _LENGTH)
        body = header and _read_exactly(fd, int.from_bytes(header, "big"))
        if body is None:
            return  # the listener closed our pipe, or is gone: stop
        try:
            answer = (True, function(*pickle.loads(body)))
        except Exception as exc:  # never expected (analysis does not raise): reported
            answer = (False, repr(exc))
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(fd, len(data).to_bytes(_LENGTH, "big") + data)


# -- the event loop side ----------------------------------------------------------------------


class _Process:
    """One parser process, its end of the pipe and the job it holds."""

    def __init__(self, context, target_args: tuple):
        ours, theirs = context.Pipe(duplex=True)  # a socket pair
        self.process = context.Process(
            target=_serve, args=(theirs, *target_args), name="guichet-parser", daemon=True
        )
        self.process.start()
        theirs.close()  # the process has its own copy; EOF on ours now means it is gone
        self.channel = ours
        self.fd = ours.fileno()
        os.set_blocking(self.fd, False)
        self.job: asyncio.Future | None = None
        self.inbox = bytearray()
        self.outbox: memoryview | None = None
        self.answered = 0

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()


class ParserProcesses:
    """`size` processes running `function(*args)` after `initializer(*initargs)`, one job at a
    time each; jobs wait for an idle one in arrival order. Calls come from one event loop at a
    time; a later one (another `asyncio.run`) takes the processes over."""

    def __init__(
        self,
        size: int,
        initializer: Callable,
        initargs: tuple,
        function: Callable,
        context: str = "forkserver",
    ):
        self._context = multiprocessing.get_context(context)
        self._target_args = (initializer, initargs, function)
        self._size = size
        self._processes: list[_Process] = []
        self._idle: deque[_Process] = deque()
        self._waiting: deque[tuple[asyncio.Future, bytes]] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def start(self) -> None:
        """Start every process now: each initialises in the background, and a job sent
        meanwhile waits in its pipe."""
        while len(self._processes) < self._size:
            self._add()

    def _add(self) -> _Process:
        process = _Process(self._context, self._target_args)
        self._processes.append(process)
        self._idle.append(process)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.add_reader(process.fd, self._readable, process)
        return process

    def submit(self, args: tuple) -> asyncio.Future:
        """`function(*args)` in a process, from within the event loop: a future of what it
        returns. It fails with `ParserDied` when the process ends first, `JobFailed` when the
        function raised."""
        if self._closed:
            raise RuntimeError("parser processes closed")
        self._attach(asyncio.get_running_loop())
        self.start()
        future = self._loop.create_future()
        frame = pickle.dumps(args, protocol=pickle.HIGHEST_PROTOCOL)
        self._waiting.append((future, len(frame).to_bytes(_LENGTH, "big") + frame))
        self._dispatch()
        return future

    def kill_holder(self, job: asyncio.Future) -> bool:
        """Kill the process working on `job` (stuck past its own limit); it is replaced."""
        for process in self._processes:
            if process.job is job:
                self._lost(process, ParserDied("killed: stuck past its time limit"), killed=True)
                return True
        return False

    # -- internals ------------------------------------------------------------------------

    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        old, self._loop = self._loop, loop
        for process in self._processes:
            if old is not None and not old.is_closed():
                old.remove_reader(process.fd)
                old.remove_writer(process.fd)
            loop.add_reader(process.fd, self._readable, process)
            if process.job not in (None, _ORPHAN) and process.job.get_loop() is not loop:
                process.job = _ORPHAN
            if process.outbox is not None:
                loop.add_writer(process.fd, self._writable, process)
        self._waiting.clear()  # their callers' loop is gone

    def _dispatch(self) -> None:
        while self._waiting and self._idle:
            future, frame = self._waiting.popleft()
            if future.done():  # its caller stopped waiting before a process was free
                continue
            process = self._idle.popleft()
            process.job = future
            self._send(process, memoryview(frame))

    def _send(self, process: _Process, data: memoryview) -> None:
        try:
            written = os.write(process.fd, data)
        except BlockingIOError:
            written = 0
        except OSError as exc:  # the process is gone
            self._lost(process, ParserDied(f"cannot write to parser: {exc}"))
            return
        if written < len(data):  # the rest when the process has read some
            process.outbox = data[written:]
            self._loop.add_writer(process.fd, self._writable, process)

    def _writable(self, process: _Process) -> None:
        data, process.outbox = process.outbox, None
        self._loop.remove_writer(process.fd)
        if data is not None:
            self._send(process, data)

    def _readable(self, process: _Process) -> None:
        # An answer's length is known once its header is in: read what is left of it, at least
        # 64 kB (os.read allocates what it is asked for: a fixed 1 MB costed a page fault per
        # answer).
        inbox = process.inbox
        wanted = _LENGTH + int.from_bytes(inbox[:_LENGTH], "big") if len(inbox) >= _LENGTH else 0
        try:
            chunk = os.read(process.fd, max(1 << 16, wanted - len(inbox)))
        except BlockingIOError:
            return
        except OSError as exc:
            chunk, reason = b"", str(exc)
        else:
            reason = "parser process ended"
        if not chunk:
            self._lost(process, ParserDied(reason))
            return
        inbox += chunk
        if len(inbox) < _LENGTH:
            return
        size = int.from_bytes(inbox[:_LENGTH], "big")
        if len(inbox) < _LENGTH + size:
            return
        ok, value = pickle.loads(memoryview(inbox)[_LENGTH : _LENGTH + size])
        process.inbox = inbox[_LENGTH + size :]  # a big answer's buffer is not kept
        job, process.job = process.job, None
        process.answered += 1
        self._idle.append(process)
        _settle(job, value if ok else None, None if ok else JobFailed(value))
        self._dispatch()

    def _lost(self, process: _Process, error: Exception, killed: bool = False) -> None:
        """A process ended: fail its job, close its pipe, start another in its place (a second
        later when it ended before answering anything, so that one failing to start does not
        make the listener spawn processes in a loop)."""
        if process not in self._processes:
            return
        self._processes.remove(process)
        if process in self._idle:
            self._idle.remove(process)
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(process.fd)
            self._loop.remove_writer(process.fd)
        process.kill()
        process.channel.close()
        process.process.join(timeout=0)  # reaped now if already gone, else by multiprocessing
        job, process.job = process.job, None
        _settle(job, None, error)
        if self._closed:
            return
        log.error("parser process %s ended: %s; starting another", process.process.pid, error)
        if process.answered or killed or self._loop is None or self._loop.is_closed():
            self._replace()
        else:
            self._loop.call_later(1.0, self._replace)

    def _replace(self) -> None:
        if not self._closed and len(self._processes) < self._size:
            self._add()
            self._dispatch()

    def close(self, wait: float = 5.0) -> None:
        """Close every pipe (an idle process ends on reading EOF), wait up to `wait` seconds for
        the processes to end, then kill those still there."""
        self._closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():  # a closed loop's callers are gone
            for future, _ in self._waiting:
                future.cancel()
        self._waiting.clear()
        for process in self._processes:
            if loop is not None and not loop.is_closed():
                loop.remove_reader(process.fd)
                loop.remove_writer(process.fd)
            process.channel.close()
        for process in self._processes:
            process.process.join(timeout=wait)
            process.kill()
            process.process.join(timeout=1)
        self._processes.clear()
        self._idle.clear()


def _settle(job: asyncio.Future | None, result: Any, error: Exception | None) -> None:
    """Give a job its answer, unless nobody waits for it any more."""
    if job is None or job is _ORPHAN or job.done():
        return
    if error is not None:
        job.set_exception(error)
    else:
        job.set_result(result)
