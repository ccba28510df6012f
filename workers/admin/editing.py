"""Template changes from the console: save = the whole `templates check`, then a new version; rollback; reset."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from workers.acks.check import Problem, check_sources
from workers.acks.live import default_set
from workers.acks.overlay import changes, normalise, overlay, propose, templates
from workers.acks.render import load_sources, templates_dir
from workers.store import audit, template_versions
from workers.store.schema_admin import TemplateVersionRow

log = logging.getLogger("guichet.admin")
COMMENT_MAX = 2000


@dataclass
class Outcome:
    """What a save, rollback or reset did: the new version, or why nothing was stored."""

    version: TemplateVersionRow | None = None
    problems: list[Problem] = field(default_factory=list)
    message: str = ""  # key of a refusal that is no template problem (stale page, nothing changed)

    @property
    def stored(self) -> bool:
        return self.version is not None


@dataclass(frozen=True)
class LiveState:
    version: int
    shipped: dict[str, str]
    overrides: dict[str, str]

    @property
    def sources(self) -> dict[str, str]:
        return overlay(self.shipped, self.overrides)


class TemplateDesk:
    """The templates as admins see them: shipped files, the saved overlay, and changes to it."""

    def __init__(self, sessions: sessionmaker, database: str):
        self.sessions, self.database = sessions, database

    def state(self) -> LiveState:
        shipped = load_sources(templates_dir())
        with self.sessions() as session:
            row = template_versions.latest(session)
            if row is None:
                return LiveState(0, shipped, {})
            return LiveState(row.id, shipped, dict(row.overrides))

    def files_of(self, template: str, state: LiveState | None = None) -> list[str]:
        state = state or self.state()
        return [f.name for f in templates(state.shipped).get(template, [])]

    def save(self, template: str, edits: dict[str, str], comment: str, author: str, base: int):
        """Check the whole matrix with these edits; store a version only when nothing is wrong."""
        if not comment.strip():
            return Outcome(message="comment_required")
        return self._change(template, edits, author, base, action="save", comment=comment)

    def rollback(self, template: str, version_id: int, author: str, base: int) -> Outcome:
        """Put back the text this template had before `version_id` (itself a new version)."""
        with self.sessions() as session:
            row = template_versions.get(session, version_id)
        if row is None or row.template != template:
            return Outcome(message="no_such_version")
        edits = {name: change["before"] for name, change in row.changes.items()}
        comment = f"rollback of version {version_id}"
        return self._change(
            template, edits, author, base, action="rollback", comment=comment, source=version_id
        )

    def reset(self, template: str, author: str, base: int) -> Outcome:
        """Back to the shipped default of this template (itself a new version)."""
        state = self.state()
        edits = {name: state.shipped[name] for name in self.files_of(template, state)}
        comment = "back to the shipped default"
        return self._change(template, edits, author, base, action="reset", comment=comment)

    def _change(self, template, edits, author, base, *, action, comment, source=None) -> Outcome:
        state = self.state()
        allowed = set(self.files_of(template, state))
        edits = {n: normalise(t) for n, t in edits.items() if n in allowed}
        if base != state.version:
            return Outcome(message="stale_version")
        after = propose(state.shipped, state.overrides, edits)
        done = changes(state.sources, overlay(state.shipped, after))
        if not done:
            return Outcome(message="nothing_changed")
        problems = check_sources(overlay(state.shipped, after))
        if problems:
            return Outcome(problems=problems)
        return self._store(state, template, after, done, author, action, comment, source)

    def _store(self, state, template, after, done, author, action, comment, source) -> Outcome:
        fields = dict(
            parent=state.version,
            author=author,
            action=action,
            template=template,
            comment=comment.strip()[:COMMENT_MAX],
            overrides=after,
            changes=done,
            restored_from=source,
        )
        try:
            with self.sessions.begin() as session:
                row = template_versions.add(session, **fields)
                audit.record(
                    session, author, f"template.{action}", f"template:{template}",
                    version=row.id, files=sorted(done), comment=fields["comment"],
                )  # fmt: skip
        except IntegrityError:
            return Outcome(message="concurrent_save")
        default_set(self.database).refresh()  # live in this process now, elsewhere within seconds
        log.info(
            "template version saved",
            extra={"event": f"templates.{action}", "version": row.id, "template": template,
                   "author": author, "files": sorted(done)},
        )  # fmt: skip
        return Outcome(version=row)
