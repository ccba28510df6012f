"""Adapters over real HTTP: Alertmanager incidents that thread, and raw MIME that takes the email path."""

from __future__ import annotations

import email
import email.policy
import time
import uuid

import pytest

from ingest.edges.webhook.signatures import mailgun_signature
from tests.support.mail import customer_mail
from tests.support.web import WebApp

pytestmark = pytest.mark.integration

GROUP_KEY = '{}/{severity="critical"}:{alertname="InstanceDown"}'


@pytest.fixture
def web(stack):
    app = WebApp(stack.settings).start()
    yield app
    app.stop()


def alertmanager_payload(status: str = "firing", ends: str = "0001-01-01T00:00:00Z") -> dict:
    """What Alertmanager 0.27 posts for one alert of a group (webhook version 4)."""
    alert = {
        "status": status,
        "labels": {
            "alertname": "InstanceDown",
            "instance": "srv-armor-01:9100",
            "job": "node",
            "severity": "critical",
        },
        "annotations": {
            "summary": "srv-armor-01 is down",
            "description": "node_exporter unreachable for 5 minutes",
        },
        "startsAt": "2026-11-26T21:14:03.112Z",
        "endsAt": ends,
        "generatorURL": "http://prometheus.armor.lan:9090/graph?g0.expr=up%3D%3D0",
        "fingerprint": "5c7b1c8e0f3d9a21",
    }
    return {
        "receiver": "dri-support",
        "status": status,
        "alerts": [alert],
        "groupLabels": {"alertname": "InstanceDown"},
        "commonLabels": alert["labels"]
        | {
            "client_number": "20481",
            "contact_name": "Sophie Kerbrat",
            "contact_email": "s.kerbrat@armor-logistique.fr",
        },
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.armor.lan:9093",
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
    }


def post_alerts(web, secret: str, payload: dict):
    import httpx

    return httpx.post(
        f"{web.url}/v1/partners/armor-monitoring/alertmanager",
        json=payload,
        headers={"authorization": f"Bearer {secret}"},
        timeout=60,  # a fresh web process starts its parsers on the first request (~5 s)
    )


def wait_messages(stack, number: int, count: int, timeout: float = 15) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(stack.ticket(number)["messages"]) < count:
        time.sleep(0.1)
    return stack.ticket(number)["messages"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_firing_alert_opens_an_urgent_incident_its_repeats_thread_and_its_resolution_adds_a_note(
    stack, sink, web
):
    secret = web.partners().add("armor-monitoring", ["20481"])
    first = post_alerts(web, secret, alertmanager_payload())
    assert first.status_code == 202 and len(first.json()["intakes"]) == 1
    [ticket] = stack.wait_tickets(1)
    assert (ticket["urgency"], ticket["client_number"], ticket["identity_status"]) == (
        "urgent",
        "20481",
        "verified",
    )
    [delivered] = sink.handler.wait_for(1)
    assert delivered["rcpt_tos"] == ["s.kerbrat@armor-logistique.fr"]

    assert post_alerts(web, secret, alertmanager_payload()).status_code == 202  # repeat_interval
    assert (
        post_alerts(
            web, secret, alertmanager_payload("resolved", "2026-11-26T21:31:48.5Z")
        ).status_code
        == 202
    )
    messages = wait_messages(stack, ticket["number"], 2)
    time.sleep(1)  # let the repeat be filed too: it must not open a ticket
    assert len(stack.tickets()) == 1
    assert [m["subject"] for m in messages] == [
        "[FIRING] InstanceDown: srv-armor-01 is down",
        "[RESOLVED] InstanceDown: srv-armor-01 is down",
    ]
    assert len(sink.handler.messages) == 1  # a note is never acknowledged again


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_an_alert_for_an_account_the_partner_does_not_serve_is_refused(stack, web):
    secret = web.partners().add("armor-monitoring", ["42118"])
    response = post_alerts(web, secret, alertmanager_payload())
    assert (response.status_code, response.json()["type"]) == (
        403,
        "/docs#problem-client-not-allowed",
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_alertmanager_without_credentials_is_told_what_to_send(stack, web):
    import httpx

    web.partners().add("armor-monitoring", [])
    response = httpx.post(
        f"{web.url}/v1/partners/armor-monitoring/alertmanager", json=alertmanager_payload()
    )
    assert response.status_code == 401 and "Bearer" in response.json()["detail"]


def mime_form(
    key: str, raw: bytes, *, token: str | None = None, recipient: str = "support@dri.example"
) -> tuple[dict, dict]:
    stamp, token = str(int(time.time())), token or uuid.uuid4().hex
    fields = {
        "timestamp": stamp,
        "token": token,
        "signature": mailgun_signature(key, stamp, token),
        "recipient": recipient,
        "sender": "jf.herve@armor-logistique.fr",
    }
    return fields, {"body-mime": ("message.eml", raw, "message/rfc822")}


def test_raw_mime_from_a_provider_becomes_the_same_ticket_and_acknowledgement_as_smtp(
    stack, sink, web
):
    import httpx

    key = "key-" + uuid.uuid4().hex
    web.partners().add(
        "mailgun", [], secret=key
    )  # a provider's own key, as `--import-secret` stores it
    mail = customer_mail()
    fields, files = mime_form(key, mail.as_bytes())
    # The first request to a fresh web process starts its parser processes (4.5-5.5 s here):
    # httpx's default 5 s timeout failed it now and then.
    url, timeout = f"{web.url}/v1/partners/mailgun/mime", 60
    response = httpx.post(url, data=fields, files=files, timeout=timeout)
    assert response.status_code == 202
    replay = httpx.post(url, data=fields, files=files, timeout=timeout)
    assert replay.status_code == 202 and replay.json() == response.json()

    [ticket] = stack.wait_tickets(1)
    assert (ticket["channel"], ticket["identity_status"], ticket["client_number"]) == (
        "smtp",
        "verified",
        "20481",
    )
    [delivered] = sink.handler.wait_for(1)
    ack = email.message_from_bytes(delivered["data"], policy=email.policy.default)
    assert (
        delivered["rcpt_tos"] == ["jf.herve@armor-logistique.fr"]
        and ack["In-Reply-To"] == mail["Message-ID"]
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_raw_mime_with_a_bad_signature_or_a_foreign_recipient_is_refused(stack, web):
    import httpx

    key = "key-" + uuid.uuid4().hex
    web.partners().add("mailgun", [], secret=key)
    fields, files = mime_form("key-wrong", customer_mail().as_bytes())
    assert (
        httpx.post(f"{web.url}/v1/partners/mailgun/mime", data=fields, files=files).status_code
        == 401
    )
    fields, files = mime_form(key, customer_mail().as_bytes(), recipient="sales@dri.example")
    response = httpx.post(f"{web.url}/v1/partners/mailgun/mime", data=fields, files=files)
    assert (response.status_code, response.json()["type"]) == (
        403,
        "/docs#problem-unknown-recipient",
    )
    assert stack.tickets() == []
