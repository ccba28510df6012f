"""Console pages for operations: recent tickets and their pages, parked messages with retry, the audit log."""

from __future__ import annotations

import asyncio
from functools import cached_property

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workers.admin import pages
from workers.admin.ticket_view import ticket_page
from workers.broker import make_broker
from workers.parking import parked, replay
from workers.running.runtime import Runtime
from workers.store import audit
from workers.store.ticket_search import ACKNOWLEDGED, IDENTITIES, URGENCIES, TicketFilter, search


class OpsPages:
    def __init__(self, rt: Runtime):
        self.rt = rt

    @cached_property
    def broker(self):
        return make_broker(self.rt.settings.broker_url)

    async def tickets(self, request: Request) -> Response:
        wanted = TicketFilter.from_args(request.query_params)
        rows = await asyncio.to_thread(self._search, wanted)
        older = rows[-1][0].id if len(rows) == wanted.limit else None
        return pages.render(
            request, "tickets.html.j2", rows=rows, wanted=wanted, older=older,
            urgencies=URGENCIES, identities=IDENTITIES, acknowledged=ACKNOWLEDGED,
        )  # fmt: skip

    def _search(self, wanted: TicketFilter):
        with self.rt.sessions() as session:
            return search(session, wanted)

    async def ticket(self, request: Request) -> Response:
        number = request.path_params["number"]
        detail = await asyncio.to_thread(ticket_page, self.rt, number)
        if detail is None:
            return pages.render(request, "message.html.j2", 404, title_key="not_found", text="")
        return pages.render(request, "ticket.html.j2", ticket=detail)

    async def parked(self, request: Request, *, error: str = "", status: int = 200) -> Response:
        rows = await asyncio.to_thread(parked, self.rt.sessions, True)
        return pages.render(
            request, "parked.html.j2", status, rows=list(reversed(rows)), error=error,
            done=request.query_params.get("done"),
        )  # fmt: skip

    async def retry(self, request: Request) -> Response:
        """The same action as `guichet parked retry ID`, with the admin's name in the audit log."""
        parked_id, who = request.path_params["parked_id"], request.scope["admin"].name
        try:
            row = await asyncio.to_thread(replay, self.rt.sessions, self.broker, parked_id)
        except LookupError as exc:
            return await self.parked(request, error=str(exc), status=409)
        with self.rt.sessions.begin() as session:
            audit.record(
                session, who, "parked.retry", f"parked:{parked_id}", task=row.actor, args=row.args
            )
        root = request.scope.get("root_path", "")
        return RedirectResponse(f"{root}/parked?done={parked_id}", 303)

    async def audit_log(self, request: Request) -> Response:
        rows = await asyncio.to_thread(self._audit)
        return pages.render(request, "audit.html.j2", rows=rows)

    def _audit(self):
        with self.rt.sessions() as session:
            return audit.recent(session, 500)
