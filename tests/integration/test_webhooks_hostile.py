"""The webhook edge against an outsider: bodies cut short, replays, reused signatures, 401 floods."""

from __future__ import annotations

import json
import socket
import time
import uuid

import httpx
import pytest

from ingest.edges.webhook.limits import WebhookSettings
from ingest.edges.webhook.signatures import mailgun_signature, request_line
from tests.support.services import free_port
from tests.support.stack import Stack, stack_settings
from tests.support.web import PartnerClient, WebApp, request_payload

pytestmark = pytest.mark.integration
MB = 1024 * 1024
HOSTILE = WebhookSettings(
    partner_cache=60, auth_failure_burst=3, auth_failure_rate=0.01, cache_entries=50
)


class BodyCounter:
    """ASGI middleware: how many body bytes the app has taken from each request."""

    def __init__(self, app):
        self.app, self.read = app, []

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        index = len(self.read)
        self.read.append(0)

        async def counted():
            message = await receive()
            self.read[index] += len(message.get("body", b""))
            return message

        return await self.app(scope, counted, send)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, redis_server):
    home = tmp_path_factory.mktemp("hostile")
    settings = stack_settings(
        home, f"sqlite:///{home / 'db.sqlite3'}", redis_server.url, f"127.0.0.1:{free_port()}"
    )
    running = Stack(settings).start(workers=False)
    counters = []

    def wrap(app):
        counters.append(BodyCounter(app))
        return counters[0]

    app = WebApp(settings, HOSTILE, wrap=wrap).start()
    app.counter = counters[0]
    yield app
    app.stop()
    running.stop()


def routes(app: WebApp):
    """The app's `Routes` (for its caches), found through a route's bound endpoint."""
    starlette = app.counter.app
    return next(r.endpoint.__self__ for r in starlette.routes if r.path == "/v1/requests")


def post_raw(app: WebApp, path: str, head: bytes, body_size: int, source: str) -> tuple[int, int]:
    """POST `head` then filler up to `body_size` bytes, as fast as the server takes it;
    returns (status, body bytes the app read)."""
    before = len(app.counter.read)
    host, port = app.settings.http_listen.split(":")
    with socket.create_connection((host, int(port)), source_address=(source, 0)) as sock:
        boundary_type = b"multipart/form-data; boundary=XyZ"
        sock.sendall(
            b"POST "
            + path.encode()
            + b" HTTP/1.1\r\nHost: x\r\nContent-Type: "
            + boundary_type
            + b"\r\nContent-Length: "
            + str(body_size).encode()
            + b"\r\n\r\n"
            + head
        )
        sent, filler = len(head), b"A" * 65536
        sock.settimeout(30)
        try:
            while sent < body_size:
                sock.sendall(filler[: body_size - sent])
                sent += len(filler)
        except OSError:
            pass  # the server answered and hung up before the rest: what we want
        answer = b""
        try:
            while b"\r\n" not in answer:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except OSError:
            pass
    time.sleep(0.2)
    return int(answer.split(b" ")[1]), app.counter.read[before]


def part(name: str, value: str) -> bytes:
    return (
        b'--XyZ\r\nContent-Disposition: form-data; name="'
        + name.encode()
        + b'"\r\n\r\n'
        + value.encode()
        + b"\r\n"
    )


def test_a_24_mb_unauthenticated_mime_post_is_cut_after_its_bad_signature(hostile):
    hostile.partners().add("mailgun", [], secret="key-" + uuid.uuid4().hex)
    stamp = str(int(time.time()))
    head = (
        part("timestamp", stamp)
        + part("token", "t" * 20)
        + part("signature", mailgun_signature("key-wrong", stamp, "t" * 20))
        + b'--XyZ\r\nContent-Disposition: form-data; name="body-mime"\r\n\r\n'
    )
    status, read = post_raw(hostile, "/v1/partners/mailgun/mime", head, 24 * MB, "127.0.0.20")
    assert status == 401
    assert read < 256 * 1024, read  # a few socket reads, not 24 MB


def test_a_mime_post_whose_message_comes_before_the_signature_stops_at_the_small_limit(hostile):
    hostile.partners().add("provider2", [], secret="key-" + uuid.uuid4().hex)
    head = b'--XyZ\r\nContent-Disposition: form-data; name="body-mime"\r\n\r\n'
    status, read = post_raw(hostile, "/v1/partners/provider2/mime", head, 24 * MB, "127.0.0.21")
    assert status == 401
    assert read < HOSTILE.max_unauthenticated + 256 * 1024, read


def test_an_unknown_partner_is_refused_before_a_byte_of_the_body_is_read(hostile):
    status, read = post_raw(hostile, "/v1/partners/nobody/mime", b"", 24 * MB, "127.0.0.22")
    assert (status, read) == (401, 0)


def test_the_signed_webhook_id_is_the_idempotency_key_and_an_unsigned_one_cannot_differ(hostile):
    name = f"p{uuid.uuid4().hex[:10]}"
    client = PartnerClient(hostile.url, name, hostile.partners().add(name, ["20481"]))
    body = json.dumps(request_payload()).encode()
    headers = client.headers(body)
    url = f"/v1/partners/{name}/requests"
    first = client.http.post(url, content=body, headers=headers)
    assert first.status_code == 202
    # A captured request replayed with a fresh Idempotency-Key is not new: it is refused.
    forged = client.http.post(url, content=body, headers=headers | {"idempotency-key": "new-1"})
    assert (forged.status_code, forged.json()["type"]) == (
        400,
        "/docs#problem-idempotency-key-mismatch",
    )
    replay = client.http.post(url, content=body, headers=headers)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.json()["intake_id"] == first.json()["intake_id"]


def test_a_status_signature_is_good_for_its_own_path_only(hostile):
    name = f"p{uuid.uuid4().hex[:10]}"
    client = PartnerClient(hostile.url, name, hostile.partners().add(name, ["20481"]))
    ids = [client.request(request_payload()).json()["intake_id"] for _ in range(2)]
    paths = [f"/v1/partners/{name}/requests/{i}" for i in ids]
    signed_for_first = client.headers(request_line("GET", paths[0]))
    source = httpx.HTTPTransport(local_address="127.0.0.23")
    with httpx.Client(base_url=hostile.url, transport=source) as http:
        assert http.get(paths[0], headers=signed_for_first).status_code == 200
        assert http.get(paths[1], headers=signed_for_first).status_code == 401
        empty = client.headers(b"")  # the old, reusable form
        assert http.get(paths[1], headers=empty).status_code == 401
    assert client.status(paths[1]).status_code == 200  # a bearer secret still works


def test_failed_authentications_are_limited_per_client_address(hostile):
    name = f"p{uuid.uuid4().hex[:10]}"
    client = PartnerClient(hostile.url, name, hostile.partners().add(name, ["20481"]))
    body = json.dumps(request_payload()).encode()
    url = f"/v1/partners/{name}/requests"
    flooding = httpx.Client(
        base_url=hostile.url, transport=httpx.HTTPTransport(local_address="127.0.0.24")
    )
    with flooding:
        codes = [
            flooding.post(
                url, content=body, headers=client.headers(body, secret="whsec_AAAA")
            ).status_code
            for _ in range(5)
        ]
        assert codes == [401, 401, 401, 429, 429]
        signed = flooding.post(url, content=body, headers=client.headers(body))
        assert signed.status_code == 429 and int(signed.headers["retry-after"]) > 0
    assert client.request(request_payload()).status_code == 202  # other addresses are not affected


def test_partner_names_in_urls_never_grow_the_cache_past_its_bound(hostile):
    gate = routes(hostile).gate
    for n in range(120):  # three failures per address, so every name reaches the lookup
        transport = httpx.HTTPTransport(local_address=f"127.0.1.{n // 3 + 1}")
        with httpx.Client(base_url=hostile.url, transport=transport) as http:
            answer = http.get(
                f"/v1/partners/unknown{n}/requests/x", headers={"authorization": "Bearer x"}
            )
            assert answer.status_code == 401
    assert 0 < len(gate._cache) <= HOSTILE.cache_entries
    assert len(gate.failures._buckets) <= HOSTILE.cache_entries
