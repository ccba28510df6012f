"""The /admin sub-application: its routes, behind the session and CSRF guard, mounted by `guichet web`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ingest.settings import Settings
from workers.admin.auth_routes import AuthPages
from workers.admin.editing import TemplateDesk
from workers.admin.guard import Guard, database_away
from workers.admin.ops_routes import OpsPages
from workers.admin.template_routes import TemplatePages
from workers.running.runtime import Runtime

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/admin"


def routes(settings: Settings) -> list:
    """Every console route; `Guard` makes each one need a session (and a CSRF token to change)."""
    rt = Runtime(settings)
    auth = AuthPages(rt.sessions)
    desk = TemplateDesk(rt.sessions, settings.database)
    tpl = TemplatePages(desk, rt.sessions, rt.outbound, settings)
    ops = OpsPages(rt)
    one = "/templates/{template:str}"
    return [
        Route("/", home, methods=["GET"]),
        Route("/login", auth.login_form, methods=["GET"]),
        Route("/login", auth.login, methods=["POST"]),
        Route("/logout", auth.logout, methods=["POST"]),
        Route("/templates", tpl.index, methods=["GET"]),
        Route(one, tpl.editor, methods=["GET"]),
        Route(one, tpl.save, methods=["POST"]),
        Route(f"{one}/preview", tpl.preview, methods=["POST"]),
        Route(f"{one}/test", tpl.send_test, methods=["POST"]),
        Route(f"{one}/history", tpl.history, methods=["GET"]),
        Route(f"{one}/rollback", tpl.rollback, methods=["POST"]),
        Route(f"{one}/reset", tpl.reset, methods=["POST"]),
        Route("/tickets", ops.tickets, methods=["GET"]),
        Route("/tickets/{number:int}", ops.ticket, methods=["GET"]),
        Route("/parked", ops.parked, methods=["GET"]),
        Route("/parked/{parked_id:int}/retry", ops.retry, methods=["POST"]),
        Route("/audit", ops.audit_log, methods=["GET"]),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]


async def home(request: Request) -> Response:
    return RedirectResponse(f"{request.scope.get('root_path', '')}/templates", 303)


def admin_app(settings: Settings) -> Starlette:
    app = Starlette(routes=routes(settings), exception_handlers={SQLAlchemyError: database_away})
    app.add_middleware(Guard, sessions=Runtime(settings).sessions)
    return app


def mount(settings: Settings) -> Mount:
    """`/admin`, to sit beside the webhook routes (and `/metrics`) in the web app."""
    return Mount(PREFIX, app=admin_app(settings))
