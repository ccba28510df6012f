"""Sign-in and sign-out of the console, with a per-address limit on failures besides the per-account back-off."""

from __future__ import annotations

import asyncio

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from workers.admin import pages
from workers.admin.accounts import sign_in
from workers.admin.session import (
    COOKIE,
    LIFETIME,
    LOGIN_COOKIE,
    close_session,
    login_token,
    open_session,
    set_cookie,
)

FAILURES_PER_ADDRESS = parse("20/10 minutes")
HOME = "/templates"


class AuthPages:
    def __init__(self, sessions):
        self.sessions = sessions
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def _next(self, request: Request, wanted: str) -> str:
        root = request.scope.get("root_path", "")
        ok = wanted.startswith(root + "/") and not wanted.startswith("//") and "\\" not in wanted
        return wanted if ok and not wanted.startswith(root + "/login") else root + HOME

    def _page(self, request: Request, status: int = 200, error: str = "", **fields) -> Response:
        token = login_token(request)
        response = pages.render(
            request, "login.html.j2", status, login_csrf=token, error=error,
            next=request.query_params.get("next", ""), **fields,
        )  # fmt: skip
        set_cookie(request, response, LOGIN_COOKIE, token, 3600)
        return response

    async def login_form(self, request: Request) -> Response:
        if request.scope.get("admin"):
            return RedirectResponse(self._next(request, request.query_params.get("next", "")), 303)
        return self._page(request)

    async def login(self, request: Request) -> Response:
        form = await request.form()
        name, password = str(form.get("name", ""))[:200], str(form.get("password", ""))[:1000]
        ip = request.client.host if request.client else ""
        if not self.limiter.test(FAILURES_PER_ADDRESS, ip):
            return self._page(request, 429, "too_many_here", name=name)
        outcome = await asyncio.to_thread(sign_in, self.sessions, name, password, ip)
        if outcome.admin_id is None:
            self.limiter.hit(FAILURES_PER_ADDRESS, ip)
            if outcome.locked_for:
                return self._page(request, 429, "locked", name=name, seconds=outcome.locked_for)
            return self._page(request, 401, "bad_credentials", name=name)
        token = await asyncio.to_thread(open_session, self.sessions, outcome.admin_id)
        response = RedirectResponse(self._next(request, str(form.get("next", ""))), 303)
        set_cookie(request, response, COOKIE, token, int(LIFETIME.total_seconds()))
        response.delete_cookie(LOGIN_COOKIE, path=request.scope.get("root_path") or "/admin")
        return response

    async def logout(self, request: Request) -> Response:
        await asyncio.to_thread(close_session, self.sessions, request.cookies.get(COOKIE, ""))
        root = request.scope.get("root_path", "")
        response = RedirectResponse(f"{root}/login", 303)
        response.delete_cookie(COOKIE, path=root or "/admin")
        return response
