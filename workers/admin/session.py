"""Console sessions: a random cookie token (stored hashed) with its CSRF token; cookie flags by origin."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from workers.store import admins
from workers.store.schema import utcnow

COOKIE = "guichet_admin"
LOGIN_COOKIE = "guichet_admin_login"  # double-submit token of the sign-in form
LIFETIME = timedelta(hours=12)


@dataclass(frozen=True)
class Who:
    """The signed-in admin of a request."""

    admin_id: int
    name: str
    email: str | None
    csrf: str


def lookup(sessions: sessionmaker, token: str) -> Who | None:
    with sessions.begin() as session:
        found = admins.session_for(session, token)
        if found is None:
            return None
        row, admin = found
        return Who(admin.id, admin.name, admin.email, row.csrf)


def open_session(sessions: sessionmaker, admin_id: int) -> str:
    """A new session for this admin; returns the cookie token."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with sessions.begin() as session:
        admins.purge_expired(session)
        admin = session.get(admins.AdminRow, admin_id)
        admins.open_session(session, admin, token, csrf, utcnow() + LIFETIME)
    return token


def close_session(sessions: sessionmaker, token: str) -> None:
    with sessions.begin() as session:
        admins.close_session(session, token)


def is_loopback(request: Request) -> bool:
    host = (request.url.hostname or "").strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """HttpOnly, SameSite=Lax, path /admin; Secure unless the console is reached on loopback."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=request.scope.get("root_path") or "/admin",
        httponly=True,
        samesite="lax",
        secure=not is_loopback(request),
    )


def login_token(request: Request) -> str:
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(32)
