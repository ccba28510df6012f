"""The live template set every process renders from: notices edits, re-checks the whole set, swaps only a good one."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from workers.acks.check import check_sources
from workers.acks.render import (
    CompiledSet,
    RenderedAck,
    TemplateSetError,
    fingerprint,
    load_sources,
    templates_dir,
)

log = logging.getLogger("guichet.templates")
RELOAD_INTERVAL = 5.0


def _validate(sources: dict[str, str]) -> list:
    return check_sources(sources)


class TemplateSet:
    """The live template set: notices edits, re-checks the whole set, swaps only a good one."""

    def __init__(self, directory: Path | None = None, interval: float = RELOAD_INTERVAL):
        self.directory = Path(directory or templates_dir())
        self.interval = interval
        self._lock = threading.Lock()
        self._stamp = fingerprint(self.directory)
        self._live = self._load(strict=True)
        self._next_check = time.monotonic() + interval

    def _load(self, *, strict: bool) -> CompiledSet | None:
        sources = load_sources(self.directory)
        problems = _validate(sources)
        if not problems:
            return CompiledSet(sources)
        _log_refused(self.directory, problems)
        if strict:
            raise TemplateSetError(f"templates in {self.directory} fail the check", problems)
        return None

    def current(self) -> CompiledSet:
        """The live set, after at most one look at the directory every `interval` seconds."""
        if time.monotonic() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self._next_check = time.monotonic() + self.interval
                self._maybe_reload()
            finally:
                self._lock.release()
        return self._live

    def _maybe_reload(self) -> None:
        stamp = fingerprint(self.directory)
        if stamp == self._stamp:
            return
        self._stamp = stamp
        candidate = self._load(strict=False)
        if candidate is not None:
            self._live = candidate
            log.info(
                "templates reloaded",
                extra={"event": "templates.reloaded", "directory": str(self.directory)},
            )

    def render(self, context: dict, language: str) -> RenderedAck:
        return self.current().render(context, language)


def _log_refused(directory: Path, problems: list) -> None:
    details = [str(p) for p in problems]
    log.error(
        "template set refused; the previous version stays live: %s",
        "; ".join(details),
        extra={"event": "templates.refused", "directory": str(directory), "problems": details},
    )


_default: TemplateSet | None = None
_default_lock = threading.Lock()


def default_set() -> TemplateSet:
    """The process-wide live set over `templates_dir()`, created on first use."""
    global _default
    with _default_lock:
        if _default is None:
            _default = TemplateSet()
        return _default


def render_ack(context: dict, language: str) -> RenderedAck:
    """Subject, text and HTML of one acknowledgement, from the live template set."""
    return default_set().render(context, language)
