"""Partner requests over real HTTP: signatures, replay, idempotency, limits, durability, ticket and acknowledgement."""

from __future__ import annotations

import concurrent.futures
import email
import email.policy
import json
import time
import uuid

import pytest
from sqlalchemy import func, select

from ingest.edges.webhook.limits import WebhookSettings
from ingest.edges.webhook.signatures import request_line
from tests.support.services import free_port
from tests.support.stack import Stack, stack_settings
from tests.support.web import PartnerClient, WebApp, request_payload
from workers.store.engine import session_factory
from workers.store.schema import IntakeRow

pytestmark = pytest.mark.integration
# Partner changes seen at once; the many 401s of these checks come from one address, whose
# failed-auth budget has its own test (test_webhooks_hostile.py).
FRESH = WebhookSettings(partner_cache=0, auth_failure_burst=1_000_000)


@pytest.fixture
def web(stack):
    app = WebApp(stack.settings, FRESH).start()
    yield app
    app.stop()


@pytest.fixture
def reseller(web):
    secret = web.partners().add("reseller", ["20481", "42118"])
    return PartnerClient(web.url, "reseller", secret)


@pytest.fixture(scope="module")
def edge(tmp_path_factory, redis_server, sink_address):
    """One stack without workers and one app for the checks that stop at the edge (fast)."""
    home = tmp_path_factory.mktemp("edge")
    settings = stack_settings(
        home, f"sqlite:///{home / 'db.sqlite3'}", redis_server.url, sink_address
    )
    running = Stack(settings).start(workers=False)
    app = WebApp(settings, FRESH).start()
    yield app
    app.stop()
    running.stop()


@pytest.fixture(scope="module")
def sink_address():
    return f"127.0.0.1:{free_port()}"  # nothing is acknowledged: no worker runs beside `edge`


@pytest.fixture
def partner(edge):
    name = f"p{uuid.uuid4().hex[:12]}"
    return PartnerClient(edge.url, name, edge.partners().add(name, ["20481", "42118"]))


def intakes(settings, partner: str | None = None) -> int:
    query = select(func.count(IntakeRow.id))
    if partner:
        query = query.where(IntakeRow.partner == partner)
    with session_factory(settings.database)() as session:
        return session.scalar(query)


def first_intake(settings) -> str:
    with session_factory(settings.database)() as session:
        return session.scalar(select(IntakeRow.id).order_by(IntakeRow.received_at).limit(1))


def test_a_signed_request_becomes_a_ticket_and_the_contact_is_acknowledged(stack, sink, reseller):
    response = reseller.request(request_payload())
    assert response.status_code == 202
    accepted = response.json()
    assert accepted["status_url"] == f"/v1/partners/reseller/requests/{accepted['intake_id']}"

    [ticket] = stack.wait_tickets(1)
    assert (ticket["channel"], ticket["identity_status"], ticket["client_number"]) == (
        "webhook",
        "verified",
        "20481",
    )
    [delivered] = sink.handler.wait_for(1)
    assert delivered["rcpt_tos"] == ["jf.herve@armor-logistique.fr"]
    ack = email.message_from_bytes(delivered["data"], policy=email.policy.default)
    assert f"#{ticket['number']}" in ack["Subject"]

    status = reseller.wait_status(accepted["status_url"], "ticketed")
    assert (status["ticket_number"], status["authorised"]) == (ticket["number"], True)


def test_a_second_request_with_the_same_external_reference_joins_the_same_ticket(
    stack, sink, reseller
):
    assert reseller.request(request_payload()).status_code == 202
    stack.wait_tickets(1)
    follow_up = request_payload(subject="Re: zone DNS", body="Voici le détail demandé.\n")
    assert reseller.request(follow_up).status_code == 202
    deadline = time.monotonic() + 10
    while (
        time.monotonic() < deadline
        and len(stack.ticket(stack.tickets()[0]["number"])["messages"]) < 2
    ):
        time.sleep(0.1)
    [ticket] = stack.tickets()
    assert len(stack.ticket(ticket["number"])["messages"]) == 2


@pytest.mark.parametrize(
    ("signing", "kind"),
    [
        (
            {"secret": "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="},
            "no-matching-signature",
        ),
        ({"timestamp": int(time.time()) - 3600}, "stale-timestamp"),
        ({"timestamp": int(time.time()) + 3600}, "stale-timestamp"),
    ],
    ids=["wrong secret", "an hour old", "an hour ahead"],
)
def test_a_request_failing_a_signature_check_is_refused_with_401_naming_the_check(
    edge, partner, signing, kind
):
    response = partner.request(request_payload(), **signing)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith(kind) and problem["status"] == 401
    assert partner.secret not in response.text
    assert intakes(edge.settings, partner.name) == 0


def test_one_byte_changed_after_signing_is_refused(edge, partner):
    body = json.dumps(request_payload()).encode()
    headers = partner.headers(body)
    tampered = body.replace(b"20481", b"20482")
    response = partner.http.post(
        f"/v1/partners/{partner.name}/requests", content=tampered, headers=headers
    )
    assert (response.status_code, response.json()["type"]) == (
        401,
        "/docs#problem-no-matching-signature",
    )


def test_missing_headers_are_named_in_the_401(edge, partner):
    response = partner.http.post(f"/v1/partners/{partner.name}/requests", json=request_payload())
    assert response.status_code == 401
    assert "webhook-id, webhook-timestamp, webhook-signature" in response.json()["detail"]


def test_an_unknown_partner_is_refused_like_a_wrong_signature(edge, partner):
    stranger = PartnerClient(edge.url, "stranger", partner.secret)
    assert stranger.request(request_payload()).json()["type"].endswith("no-matching-signature")


def test_after_a_rotation_old_and_new_secrets_both_sign_until_the_old_one_expires(edge, partner):
    from datetime import timedelta

    old = partner.secret
    new = edge.partners().rotate(partner.name, keep_old_for=timedelta(hours=24))
    assert partner.request(request_payload(external_reference="a"), secret=old).status_code == 202
    assert partner.request(request_payload(external_reference="b"), secret=new).status_code == 202
    edge.partners().rotate(partner.name, keep_old_for=timedelta(0))
    assert partner.request(request_payload(external_reference="c"), secret=new).status_code == 401


def test_a_request_for_an_account_outside_the_partners_list_is_refused_with_403(edge, partner):
    response = partner.request(request_payload(client_number="10234"))
    assert (response.status_code, response.json()["type"]) == (
        403,
        "/docs#problem-client-not-allowed",
    )


def test_a_schema_error_names_the_field(edge, partner):
    response = partner.request(request_payload(client_number="2048", severity=7))
    assert response.status_code == 400
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["client_number", "severity"] and response.json()["detail"].startswith(
        "client_number:"
    )


def test_a_replayed_request_gets_the_first_answer_and_creates_nothing(edge, partner):
    body = json.dumps(request_payload()).encode()
    headers = partner.headers(body)
    first = partner.http.post(
        f"/v1/partners/{partner.name}/requests", content=body, headers=headers
    )
    again = partner.http.post(
        f"/v1/partners/{partner.name}/requests", content=body, headers=headers
    )
    assert (
        (again.status_code, again.content)
        == (first.status_code, first.content)
        == (202, first.content)
    )
    assert again.headers["idempotent-replayed"] == "true"
    assert intakes(edge.settings, partner.name) == 1


def test_the_same_key_with_a_different_body_is_422(edge, partner):
    assert partner.request(request_payload(), msg_id="msg_same").status_code == 202
    response = partner.request(request_payload(subject="Autre chose"), msg_id="msg_same")
    assert (response.status_code, response.json()["type"]) == (
        422,
        "/docs#problem-idempotency-key-reused",
    )
    assert intakes(edge.settings, partner.name) == 1


def test_concurrent_deliveries_of_one_key_make_one_intake_and_the_others_wait_or_replay(
    edge, partner
):
    body = json.dumps(request_payload()).encode()
    headers = partner.headers(body)

    def deliver(_):
        return partner.http.post(
            f"/v1/partners/{partner.name}/requests", content=body, headers=headers
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(deliver, range(8)))
    assert set(codes) <= {202, 409} and 202 in codes
    assert intakes(edge.settings, partner.name) == 1


def test_a_body_over_the_cap_is_refused_with_413_before_it_is_read(edge, partner):
    huge = json.dumps(request_payload(body="x" * (WebhookSettings().max_body + 10))).encode()
    response = partner.request(huge)
    assert (response.status_code, response.json()["type"]) == (
        413,
        "/docs#problem-payload-too-large",
    )
    assert "declares" in response.json()["detail"]  # refused from Content-Length, before reading


def test_a_body_over_the_cap_without_content_length_is_refused_with_413(edge, partner):
    chunk = b"x" * 65536

    def stream():
        for _ in range(WebhookSettings().max_body // len(chunk) + 2):
            yield chunk

    response = partner.http.post(
        f"/v1/partners/{partner.name}/requests", content=stream(), headers=partner.headers(b"")
    )
    assert response.status_code == 413 and "exceeds" in response.json()["detail"]


def test_an_attachment_over_its_cap_is_a_schema_error(edge, partner):
    import base64

    big = base64.b64encode(b"\0" * (WebhookSettings().max_attachment + 1)).decode()
    response = partner.request(
        request_payload(attachments=[{"filename": "dump.bin", "content_base64": big}])
    )
    assert response.status_code == 400 and "dump.bin" in response.json()["detail"]


def test_a_partner_over_its_rate_gets_429_with_retry_after(edge):
    settings = edge.settings.model_copy(update={"http_listen": f"127.0.0.1:{free_port()}"})
    app = WebApp(settings, WebhookSettings(rate=0.5, burst=2)).start()
    try:
        client = PartnerClient(app.url, "burst", app.partners().add("burst", []))
        codes = [
            client.request(request_payload(external_reference=str(i))).status_code for i in range(3)
        ]
        refused = client.request(request_payload(external_reference="x"))
    finally:
        app.stop()
    assert codes == [202, 202, 429]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1


def test_broker_down_answers_503_with_retry_after_and_keeps_the_request(tmp_path, sink):
    database = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    settings = stack_settings(
        tmp_path / "home", database, f"redis://127.0.0.1:{free_port()}/0", sink.address
    )
    running = Stack(settings).start(workers=False)
    app = WebApp(settings).start()
    try:
        client = PartnerClient(app.url, "reseller", app.partners().add("reseller", []))
        first = client.request(request_payload(), msg_id="msg_retry")
        retry = client.request(request_payload(), msg_id="msg_retry")
        ready = client.http.get("/readyz")
    finally:
        app.stop()
        running.stop()
    assert first.status_code == 503 and first.headers["retry-after"] == str(
        WebhookSettings().retry_after
    )
    assert first.json()["detail"] == "the request could not be queued; retry later"
    # Stored with its key the first time: the retry stores nothing and is told which intake
    # it is (the sweeper queues it once the broker is back).
    assert retry.status_code == 202 and retry.headers["idempotent-replayed"] == "true"
    assert retry.json()["intake_id"] == first_intake(settings)
    assert intakes(settings) == 1
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "ok"
    assert ready.json()["checks"]["broker"].startswith("unreachable")


def test_health_and_readiness_answer(edge):
    import httpx

    assert httpx.get(edge.url + "/healthz").json() == {"status": "ok", "checks": {}}
    ready = httpx.get(edge.url + "/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_the_status_of_another_partners_request_is_not_found(edge, partner):
    accepted = partner.request(request_payload()).json()
    other = PartnerClient(edge.url, "other", edge.partners().add("other", []))
    response = other.status(accepted["status_url"].replace(f"/{partner.name}/", "/other/"))
    assert (response.status_code, response.json()["type"]) == (404, "/docs#problem-not-found")


@pytest.mark.parametrize("named", [True, False], ids=["named by header", "found by signature"])
def test_the_partner_less_path_finds_the_partner_by_header_or_by_its_signature(
    edge, partner, named
):
    body = json.dumps(request_payload()).encode()
    headers = partner.headers(body)
    if named:
        headers["webhook-partner"] = partner.name
    response = partner.http.post("/v1/requests", content=body, headers=headers)
    assert response.status_code == 202, response.text
    accepted = response.json()
    assert intakes(edge.settings, partner.name) == 1
    path = f"/v1/requests/{accepted['intake_id']}"
    status = partner.http.get(path, headers=partner.headers(request_line("GET", path)))
    assert status.status_code == 200, status.text
    assert status.json()["intake_id"] == accepted["intake_id"]


def test_the_partner_less_path_refuses_a_signature_no_partner_made(edge, partner):
    body = json.dumps(request_payload()).encode()
    stranger = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    response = partner.http.post(
        "/v1/requests", content=body, headers=partner.headers(body, secret=stranger)
    )
    assert response.status_code == 401
    assert intakes(edge.settings, partner.name) == 0
