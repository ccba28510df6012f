"""Server-rendered console pages: the project's sandboxed Jinja2 environment (autoescaped), in French or English."""

from __future__ import annotations

import tomllib
from datetime import datetime
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse

from workers.acks.render import load_sources, make_environment
from workers.escalation.policy import default_policy

HERE = Path(__file__).resolve().parent
LANGUAGES = ("fr", "en")
LANG_COOKIE = "guichet_admin_lang"


@lru_cache(maxsize=1)
def environment():
    """Sandboxed, strict undefined, autoescape for every `.html.j2` page (customer data is data)."""
    return make_environment(load_sources(HERE / "pages"))


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    return tomllib.loads((HERE / "messages.toml").read_text("utf-8"))


class Translator:
    """`t("key", n=3)`: the message in the interface language, with its fields filled."""

    def __init__(self, lang: str):
        self.lang = lang

    def __call__(self, key: str, **fields) -> str:
        entry = catalogue().get(key)
        if entry is None:
            return key
        return entry.get(self.lang, entry["en"]).format(**fields)


def language(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if wanted in LANGUAGES:
        return wanted
    accepted = request.headers.get("accept-language", "").lower()
    return "en" if accepted.startswith("en") else "fr"


def when(moment: datetime | str | None) -> str:
    """A stored moment in the policy's time zone, to the second."""
    if not moment:
        return "—"
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.astimezone(default_policy().timezone).strftime("%Y-%m-%d %H:%M:%S %Z")


def render(request: Request, page: str, status: int = 200, **values) -> HTMLResponse:
    lang = language(request)
    who = request.scope.get("admin")
    context = {
        "t": Translator(lang),
        "lang": lang,
        "admin": who,
        "csrf": who.csrf if who else values.pop("login_csrf", ""),
        "root": request.scope.get("root_path", ""),
        "here": request.url.path,
        "when": when,
        **values,
    }
    response = HTMLResponse(environment().get_template(page).render(context), status)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, path=context["root"] or "/")
    return response
