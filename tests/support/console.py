"""The admin console for tests: the whole pipeline plus `guichet web` on free ports, and an admin."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import re
import time
from pathlib import Path

import httpx

from tests.support.stack import Stack, stack_settings
from tests.support.web import WebApp
from workers.admin.accounts import add_admin
from workers.running.runtime import set_runtime
from workers.store.engine import session_factory

ADMIN, PASSWORD, ADMIN_EMAIL = "camille", "une phrase de passe assez longue", "camille@dri.example"
AXE = Path(__file__).resolve().parents[1] / "browser" / "vendor" / "axe.min.js"
AXE_SHA256 = "KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="  # sri-history.json of axe-core 4.14.1
BLOCKING = ("serious", "critical")


class Console:
    """Stack (SMTP listener, workers) + web app (webhooks and /admin) over one database."""

    def __init__(self, tmp_path: Path, database_url: str, redis_url: str, relay: str):
        self.settings = stack_settings(tmp_path / "home", database_url, redis_url, relay)
        self.stack = Stack(self.settings)
        self.web: WebApp | None = None

    def start(self) -> Console:
        self.stack.start()
        self.web = WebApp(self.settings).start()
        add_admin(session_factory(self.settings.database), ADMIN, PASSWORD, ADMIN_EMAIL, "test")
        return self

    def stop(self) -> None:
        if self.web:
            self.web.stop()
        self.stack.stop()
        set_runtime(None)  # later tests must not render from this console's saved versions

    @property
    def url(self) -> str:
        return f"{self.web.url}/admin"

    def client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.web.url,
            timeout=30,
            follow_redirects=False,
            headers={"accept-language": "en"},
        )

    def signed_in(self) -> tuple[httpx.Client, str]:
        """An HTTP client with a session, and the session's CSRF token."""
        client = self.client()
        page = client.get("/admin/login")
        response = client.post(
            "/admin/login",
            data={"name": ADMIN, "password": PASSWORD, "csrf": csrf_of(page.text), "next": ""},
        )
        assert response.status_code == 303, response.text
        return client, csrf_of(client.get("/admin/templates").text)


def scenario(*parts: str) -> str:
    """The first scenario of the check's matrix whose name has all these parts."""
    from workers.acks.scenarios import scenario_names

    return next(n for n in scenario_names() if set(parts) <= set(n.split("-")))


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def ack_text(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return message.get_body(("plain",)).get_content()


def axe_source() -> str:
    """The vendored axe-core, refused if it is not byte for byte the published file."""
    data = AXE.read_bytes()
    import base64

    digest = base64.b64encode(hashlib.sha256(data).digest()).decode()
    assert digest == AXE_SHA256, "tests/browser/vendor/axe.min.js is not axe-core 4.14.1"
    return data.decode("utf-8")


def serious_violations(driver) -> list[dict]:
    """axe-core run in the page (WCAG 2.1 A/AA rules): the serious and critical violations.

    The page is fully loaded first, and axe is put in and run by one script: a page that
    replaced the document between two scripts (a redirect just after sign-in) would otherwise
    lose the axe put into the one before it."""
    _loaded(driver)
    found = driver.execute_async_script(
        "if (typeof window.axe === 'undefined') {\n"
        + axe_source()
        + """
        }
        const done = arguments[arguments.length - 1];
        axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
          .then(r => done(JSON.stringify(r.violations)), e => done(JSON.stringify([{id: 'axe-error', impact: 'critical', help: String(e)}])));
        """
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n.get("target") for n in v.get("nodes", [])][:5],
        }
        for v in json.loads(found)
        if v.get("impact") in BLOCKING
    ]


def _loaded(driver, seconds: float = 15) -> None:
    """Wait until the current document has finished loading."""
    deadline = time.monotonic() + seconds
    while driver.execute_script("return document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise AssertionError("the page did not finish loading")
        time.sleep(0.05)
