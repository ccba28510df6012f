"""The webhook app on uvicorn on a free port in a thread, beside the `Stack`, and a signing partner client."""

from __future__ import annotations

import json
import threading
import time
import uuid

import httpx

from ingest.edges.webhook.limits import WebhookSettings
from ingest.edges.webhook.signatures import sign
from ingest.settings import Settings
from workers.running.web_process import server, web_app
from workers.store.engine import session_factory
from workers.store.partners import SqlPartners, secret_box


class WebApp:
    """`guichet web` in-process: start() returns once the socket answers, stop() drains it."""

    def __init__(
        self, settings: Settings, webhooks: WebhookSettings | None = None, wrap=lambda app: app
    ):
        self.settings = settings
        self.server = server(settings, wrap(web_app(settings, webhooks or WebhookSettings())))
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> WebApp:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.server.started, "uvicorn did not start"
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(10)

    @property
    def url(self) -> str:
        return f"http://{self.settings.http_listen}"

    def partners(self) -> SqlPartners:
        return SqlPartners(session_factory(self.settings.database), secret_box(self.settings.home))


class PartnerClient:
    """What a partner's code does: sign the exact bytes it sends, with Standard Webhooks headers."""

    def __init__(self, base_url: str, name: str, secret: str):
        self.http = httpx.Client(base_url=base_url, timeout=30)
        self.name, self.secret = name, secret

    def headers(
        self,
        body: bytes,
        *,
        msg_id: str | None = None,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> dict:
        msg_id = msg_id or f"msg_{uuid.uuid4().hex}"
        stamp = int(time.time()) if timestamp is None else timestamp
        signature = sign(secret or self.secret, msg_id, stamp, body)
        return {
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": signature,
            "content-type": "application/json",
        }

    def post(self, path: str, payload: dict | bytes, **signing) -> httpx.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return self.http.post(
            f"/v1/partners/{self.name}/{path}", content=body, headers=self.headers(body, **signing)
        )

    def request(self, payload: dict | bytes, **signing) -> httpx.Response:
        return self.post("requests", payload, **signing)

    def status(self, status_url: str) -> httpx.Response:
        return self.http.get(status_url, headers={"authorization": f"Bearer {self.secret}"})

    def wait_status(self, status_url: str, wanted: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.status(status_url).json()
            if found.get("status") == wanted:
                return found
            time.sleep(0.1)
        return found


def request_payload(**changes) -> dict:
    """A request a reseller's portal would send for a verified contact of account 20481."""
    payload = {
        "client_number": "20481",
        "contact_name": "Jean-François Hervé",
        "contact_email": "jf.herve@armor-logistique.fr",
        "subject": "Question sur la configuration DNS",
        "body": "Bonjour,\n\nPourriez-vous vérifier la zone DNS de armor-logistique.fr ?\n",
        "language": "fr",
        "service": "DNS",
        "external_reference": "RES-2291",
    }
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}
