"""Console pages for the templates: list, editor with live preview, save, history, rollback, test mail."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from workers.acks.live import default_set
from workers.acks.mail import compose
from workers.acks.overlay import normalise, orphans, templates
from workers.acks.render import RenderedAck
from workers.admin import pages
from workers.admin.diffs import diff_lines, file_diffs
from workers.admin.editing import LiveState, Outcome, TemplateDesk
from workers.admin.preview import default_scenario, preview, scenario_names
from workers.admin.problems import shown
from workers.store import audit, template_versions

FILE_FIELD = "file:"


def _edits(form) -> dict[str, str]:
    return {
        k[len(FILE_FIELD) :]: normalise(str(v)) for k, v in form.items() if k.startswith(FILE_FIELD)
    }


def _int(value, default: int = -1) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class TemplatePages:
    def __init__(self, desk: TemplateDesk, sessions, outbound, settings):
        self.desk, self.sessions, self.outbound, self.settings = desk, sessions, outbound, settings

    def _group(self, state: LiveState, template: str):
        return templates(state.shipped).get(template)

    def _not_found(self, request: Request) -> Response:
        return pages.render(request, "message.html.j2", 404, title_key="not_found", text="")

    async def index(self, request: Request) -> Response:
        state = await asyncio.to_thread(self.desk.state)
        with self.sessions() as session:
            last = template_versions.last_changes(session)
        live = default_set(self.desk.database)
        rows = [
            {
                "id": tid,
                "parts": [f.part for f in files],
                "language": files[0].language,
                "edited": any(f.name in state.overrides for f in files),
                "last": last.get(tid),
            }
            for tid, files in templates(state.shipped).items()
        ]
        return pages.render(
            request, "templates.html.j2", rows=rows, version=state.version,
            live_version=live.version, refused=live.refused,
            orphans=orphans(state.shipped, state.overrides),
        )  # fmt: skip

    async def editor(
        self, request: Request, *, texts=None, problems=(), message="", detail="", status=200
    ):
        template = request.path_params["template"]
        state = await asyncio.to_thread(self.desk.state)
        files = self._group(state, template)
        if files is None:
            return self._not_found(request)
        sources = state.sources
        texts = {f.name: (texts or {}).get(f.name, sources[f.name]) for f in files}
        language = files[0].language or "fr"
        scenario = default_scenario()
        first = await asyncio.to_thread(preview, {**sources, **texts}, language, scenario, None)
        return pages.render(
            request, "editor.html.j2", status, template=template, files=files, texts=texts,
            base=state.version, scenarios=scenario_names(), scenario=scenario,
            language=language, fixed_language=files[0].language, preview=first,
            first_problems=[shown(p, texts) for p in first["problems"]],
            problems=[shown(p, texts) for p in problems], message=message, detail=detail,
            saved=request.query_params.get("saved"), sent=request.query_params.get("sent"),
            edited=any(f.name in state.overrides for f in files),
        )  # fmt: skip

    async def preview(self, request: Request) -> Response:
        template = request.path_params["template"]
        form = await request.form()
        state = await asyncio.to_thread(self.desk.state)
        files = self._group(state, template)
        if files is None:
            return JSONResponse({"error": "no such template"}, 404)
        names = {f.name for f in files}
        edits = {k: v for k, v in _edits(form).items() if k in names}
        language = files[0].language or str(form.get("language", "fr"))
        result = await asyncio.to_thread(
            preview, {**state.sources, **edits}, language,
            str(form.get("scenario") or default_scenario()), str(form.get("at", "")),
        )  # fmt: skip
        result["problems"] = [shown(p, edits) for p in result["problems"]]
        return JSONResponse(result)

    async def save(self, request: Request) -> Response:
        template, form = request.path_params["template"], await request.form()
        edits = _edits(form)
        outcome = await asyncio.to_thread(
            self.desk.save, template, edits, str(form.get("comment", "")),
            request.scope["admin"].name, _int(form.get("base")),
        )  # fmt: skip
        if outcome.stored:
            return RedirectResponse(f"{request.url.path}?saved={outcome.version.id}", 303)
        status = 422 if outcome.problems else 409
        return await self.editor(
            request, texts=edits or None, problems=outcome.problems,
            message=outcome.message, status=status,
        )  # fmt: skip

    async def history(self, request: Request, *, outcome: Outcome | None = None, status=200):
        template = request.path_params["template"]
        state = await asyncio.to_thread(self.desk.state)
        files = self._group(state, template)
        if files is None:
            return self._not_found(request)
        with self.sessions() as session:
            versions = template_versions.history(session, template)
            trail = audit.recent(session, 50, target=f"template:{template}")
        live = state.sources
        return pages.render(
            request, "history.html.j2", status, template=template, base=state.version,
            versions=[{"row": v, "diffs": file_diffs(v.changes)} for v in versions],
            shipped_diffs=[
                {"file": f.name, "lines": diff_lines(state.shipped[f.name], live[f.name])}
                for f in files if state.shipped[f.name] != live[f.name]
            ],
            trail=trail, outcome=outcome,
            problems=[shown(p, {}) for p in (outcome.problems if outcome else [])],
            done=request.query_params.get("done"),
        )  # fmt: skip

    async def rollback(self, request: Request) -> Response:
        return await self._change(request, "rollback")

    async def reset(self, request: Request) -> Response:
        return await self._change(request, "reset")

    async def _change(self, request: Request, kind: str) -> Response:
        template, form = request.path_params["template"], await request.form()
        who, base = request.scope["admin"].name, _int(form.get("base"))
        if kind == "rollback":
            step = (self.desk.rollback, template, _int(form.get("version")), who, base)
        else:
            step = (self.desk.reset, template, who, base)
        outcome = await asyncio.to_thread(*step)
        if outcome.stored:
            return RedirectResponse(
                f"{request.url.path.rpartition('/')[0]}/history?done={outcome.version.id}", 303
            )
        return await self.history(request, outcome=outcome, status=422 if outcome.problems else 409)

    async def send_test(self, request: Request) -> Response:
        template, form = request.path_params["template"], await request.form()
        who = request.scope["admin"]
        state = await asyncio.to_thread(self.desk.state)
        files = self._group(state, template)
        if files is None:
            return self._not_found(request)
        if not who.email:
            return await self.editor(request, message="no_email", status=409)
        language = files[0].language or str(form.get("language", "fr"))
        scenario = str(form.get("scenario") or default_scenario())
        try:
            await asyncio.to_thread(self._send, state, template, language, scenario, who)
        except Exception as exc:  # the relay's answer, shown to the admin
            detail = f"{type(exc).__name__}: {exc}"[:500]
            return await self.editor(request, message="test_failed", detail=detail, status=502)
        return RedirectResponse(f"{request.url.path.rpartition('/')[0]}?sent={who.email}", 303)

    def _send(self, state: LiveState, template: str, language: str, scenario: str, who) -> None:
        """The live version (what customers get now) for this scenario, to the admin only."""
        result = preview(state.sources, language, scenario, None)
        if result["problems"]:
            raise ValueError("; ".join(str(p) for p in result["problems"]))
        now = datetime.now(UTC)
        domain = self.settings.ack_from.rpartition("@")[2] or "guichet.invalid"
        message = compose(
            RenderedAck(f"[test] {result['subject']}", result["text"], result["html"]),
            sender=self.settings.ack_from, recipient=who.email,
            message_id=f"admin-test.{now:%Y%m%d%H%M%S%f}.{who.admin_id}@{domain}",
            in_reply_to="", references=[], language=language, sent_at=now,
        )  # fmt: skip
        self.outbound.send(message, who.email)
        with self.sessions.begin() as session:
            audit.record(
                session, who.name, "template.test", f"template:{template}",
                to=who.email, scenario=scenario, language=language, version=state.version,
            )  # fmt: skip
