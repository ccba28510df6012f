"""Default-deny for /admin: no session, no page; no CSRF token (or a foreign Origin), no change.

A pure ASGI middleware in front of every console route, so a route added later is protected
without remembering to: only the sign-in page and the static files are public. A POST's body
(small: forms and preview requests, capped) is read here to find its token, then replayed."""

from __future__ import annotations

import asyncio
import hmac
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.exc import SQLAlchemyError
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from workers.admin.session import COOKIE, LOGIN_COOKIE, Who, lookup

SAFE = ("GET", "HEAD")
PUBLIC = ("/static/",)
LOGIN = "/login"
MAX_BODY = 2 * 1024 * 1024
UNAVAILABLE = "the database is unavailable; try again in a few seconds"
RETRY_AFTER = "5"
HEADERS = {
    # srcdoc frames inherit this policy: the preview's HTML runs no script and loads nothing remote.
    "content-security-policy": "default-src 'self'; script-src 'self'; style-src 'self' "
    "'unsafe-inline'; img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'; object-src 'none'",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


@dataclass
class Refusal(Exception):
    status: int
    text: str


def route_path(scope) -> str:
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root) :] or "/" if root and path.startswith(root) else path


class Guard:
    def __init__(self, app, sessions):
        self.app, self.sessions = app, sessions

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = _with_headers(send)
        path = route_path(scope)
        if path.startswith(PUBLIC):
            return await self.app(scope, receive, send)
        try:
            scope["admin"] = await self._who(scope, path)
            if scope["method"] not in SAFE:
                receive = await self._checked(scope, receive, path)
        except Refusal as refusal:
            return await _refuse(scope, refusal, path)(scope, receive, send)
        await self.app(scope, receive, send)

    async def _who(self, scope, path: str) -> Who | None:
        token = _cookies(scope).get(COOKIE, "")
        try:
            who = await asyncio.to_thread(lookup, self.sessions, token) if token else None
        except SQLAlchemyError:
            raise Refusal(503, UNAVAILABLE) from None
        if who is None and path != LOGIN:
            raise Refusal(401, "sign in first")
        return who

    async def _checked(self, scope, receive, path: str):
        _same_origin(scope)
        body = await _read(receive)
        sent = _header(scope, b"x-csrf-token") or _form_token(scope, body)
        who: Who | None = scope["admin"]
        expected = who.csrf if who else _cookies(scope).get(LOGIN_COOKIE, "")
        if not (sent and expected and hmac.compare_digest(sent, expected)):
            raise Refusal(403, "missing or wrong CSRF token: reload the page and try again")
        return _replay(body)


def _refuse(scope, refusal: Refusal, path: str) -> Response:
    if refusal.status == 401 and scope["method"] in SAFE:
        root = scope.get("root_path", "")
        return RedirectResponse(f"{root}{LOGIN}?next={root}{path}", 303)
    headers = {"retry-after": RETRY_AFTER} if refusal.status == 503 else None
    return PlainTextResponse(refusal.text, refusal.status, headers=headers)


async def database_away(request, exc) -> Response:
    """A database fault is transient: 503 with Retry-After, never a 500 with its text."""
    return PlainTextResponse(UNAVAILABLE, 503, headers={"retry-after": RETRY_AFTER})


def _with_headers(send):
    async def wrapped(message):
        if message["type"] == "http.response.start":
            names = {k.lower() for k, _ in message.get("headers", [])}
            extra = [
                (k.encode(), v.encode()) for k, v in HEADERS.items() if k.encode() not in names
            ]
            message = {**message, "headers": list(message.get("headers", [])) + extra}
        await send(message)

    return wrapped


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _cookies(scope) -> dict[str, str]:
    found = {}
    for part in _header(scope, b"cookie").split(";"):
        key, _, value = part.strip().partition("=")
        if key:
            found.setdefault(key, value)
    return found


def _same_origin(scope) -> None:
    """A browser names the page a POST comes from; another site's is refused outright."""
    origin = _header(scope, b"origin")
    if origin and origin != "null" and urlsplit(origin).netloc != _header(scope, b"host"):
        raise Refusal(403, "cross-site request refused")


async def _read(receive) -> bytes:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Refusal(400, "client went away")
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > MAX_BODY:
            raise Refusal(413, "request too large")
        if not message.get("more_body"):
            return b"".join(chunks)


def _form_token(scope, body: bytes) -> str:
    if not _header(scope, b"content-type").startswith("application/x-www-form-urlencoded"):
        return ""
    values = parse_qs(body.decode("utf-8", "replace"), max_num_fields=1000).get("csrf", [""])
    return values[0]


def _replay(body: bytes):
    """A `receive` that hands the body already read to the app, then reports the end."""
    messages = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive() -> dict:
        return messages.pop() if messages else {"type": "http.disconnect"}

    return receive
