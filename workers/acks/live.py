"""The live template set every process renders from: the shipped files overlaid with the newest saved
version in the database; edits and new versions are noticed within seconds, re-checked, and only a
good set is swapped in."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from workers import metrics
from workers.acks.check import checked_set
from workers.acks.overlay import overlay
from workers.acks.render import (
    CompiledSet,
    RenderedAck,
    TemplateSetError,
    fingerprint,
    load_sources,
    templates_dir,
)
from workers.running.runtime import runtime
from workers.store import template_versions
from workers.store.engine import session_factory

log = logging.getLogger("guichet.templates")
RELOAD_INTERVAL = 5.0
UNKNOWN = -1  # the database could not be read: look again at the next interval


def _validate(sources: dict[str, str]) -> tuple[CompiledSet | None, list]:
    return checked_set(sources)


class TemplateSet:
    """The live set of one template folder (and of one database, when given).

    Every `interval` seconds, at most, the set looks at the folder's fingerprint and at the
    newest version number in the database (one indexed `max(id)`); when either moved, the
    whole candidate set is checked and replaces the live one only if it passes."""

    def __init__(
        self,
        directory: Path | None = None,
        interval: float = RELOAD_INTERVAL,
        database: str | None = None,
    ):
        self.directory = Path(directory or templates_dir())
        self.interval = interval
        self.sessions = session_factory(database) if database else None
        self.version = 0  # the database version live here; 0: the shipped files alone
        self.refused: tuple[int, list] | None = None  # (version, problems) of the last refusal
        self._lock = threading.Lock()
        self._stamp = self._look()
        self._live = self._first_load()
        self._next_check = time.monotonic() + interval

    def _look(self) -> tuple:
        return fingerprint(self.directory), self._database_version()

    def _database_version(self) -> int:
        if self.sessions is None:
            return 0
        try:
            with self.sessions() as session:
                return template_versions.latest_id(session)
        except SQLAlchemyError as exc:
            log.warning("template versions unreadable: %s", type(exc).__name__)
            return UNKNOWN

    def _overrides(self, version: int) -> dict[str, str]:
        if version <= 0:
            return {}
        with self.sessions() as session:
            row = template_versions.get(session, version)
            return dict(row.overrides) if row else {}

    def _first_load(self) -> CompiledSet:
        """The saved version over the shipped files; the shipped files alone when it fails."""
        shipped = load_sources(self.directory)
        version = self._stamp[1]
        if version > 0:
            compiled = self._candidate(shipped, version)
            if compiled is not None:
                return compiled
        compiled, problems = _validate(shipped)
        if problems:
            _log_refused(self.directory, 0, problems)
            raise TemplateSetError(f"templates in {self.directory} fail the check", problems)
        return compiled

    def _candidate(self, shipped: dict[str, str], version: int) -> CompiledSet | None:
        try:
            sources = overlay(shipped, self._overrides(version))
        except SQLAlchemyError as exc:
            log.warning("template version %s unreadable: %s", version, type(exc).__name__)
            return None
        compiled, problems = _validate(sources)
        if problems:
            self.refused = (version, problems)
            _log_refused(self.directory, version, problems)
            return None
        self.version, self.refused = max(version, 0), None
        return compiled

    def current(self) -> CompiledSet:
        """The live set, after at most one look at the folder and the database every `interval` s."""
        if time.monotonic() >= self._next_check and self._lock.acquire(blocking=False):
            try:
                self._next_check = time.monotonic() + self.interval
                self._maybe_reload()
            finally:
                self._lock.release()
        return self._live

    def refresh(self) -> None:
        """Look now (the process that saved a version need not wait for the interval)."""
        with self._lock:
            self._next_check = time.monotonic() + self.interval
            self._maybe_reload()

    def _maybe_reload(self) -> None:
        stamp = self._look()
        if stamp[1] == UNKNOWN:  # database away: keep its part of the stamp, still see the folder
            stamp = (stamp[0], self._stamp[1])
        if stamp == self._stamp:
            return
        self._stamp = stamp
        candidate = self._candidate(load_sources(self.directory), stamp[1])
        if candidate is not None:
            self._live = candidate
            log.info(
                "templates reloaded",
                extra={
                    "event": "templates.reloaded",
                    "directory": str(self.directory),
                    "version": stamp[1],
                },
            )

    def render(self, context: dict, language: str) -> RenderedAck:
        return self.current().render(context, language)


def _log_refused(directory: Path, version: int, problems: list) -> None:
    details = [str(p) for p in problems]
    metrics.template_set_refused()
    log.error(
        "template set refused; the previous version stays live: %s",
        "; ".join(details),
        extra={
            "event": "templates.refused",
            "directory": str(directory),
            "version": version,
            "problems": details,
        },
    )


_sets: dict[tuple[str, str], TemplateSet] = {}
_sets_lock = threading.Lock()


def default_set(database: str | None = None) -> TemplateSet:
    """The process-wide live set over `templates_dir()` and this process's database."""
    database = database or runtime().settings.database
    key = (str(templates_dir()), database)
    with _sets_lock:
        if key not in _sets:
            _sets[key] = TemplateSet(database=database)
        return _sets[key]


def render_ack(context: dict, language: str) -> RenderedAck:
    """Subject, text and HTML of one acknowledgement, from the live template set."""
    with metrics.counting_render_failures():
        return default_set().render(context, language)
