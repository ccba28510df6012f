"""A partner's JSON becomes the same `Content` at the edge and in the worker; Alertmanager maps onto it."""

from __future__ import annotations

import base64
import json

import pytest
from pydantic import ValidationError

from ingest.edges.webhook.alertmanager import AlertmanagerPayload, requests_for
from ingest.edges.webhook.limits import RateLimiter, WebhookSettings
from ingest.edges.webhook.mapping import content_from_json, to_content
from ingest.edges.webhook.models import RequestIn
from ingest.reading.contents import content_from

REQUEST = {
    "client_number": "20481",
    "contact_name": "Jean-François Hervé",
    "contact_email": "JF.Herve@armor-logistique.fr",
    "subject": "Serveur injoignable",
    "body": "Le serveur ne répond plus.",
    "severity": "critical",
    "server": "srv-armor-01",
    "external_reference": "RES-1",
    "attachments": [
        {
            "filename": "trace.txt",
            "content_type": "text/plain",
            "content_base64": base64.b64encode(b"ping").decode(),
        }
    ],
}


def test_the_worker_rebuilds_the_content_the_edge_analysed():
    raw = json.dumps(REQUEST).encode()
    assert content_from("webhook", raw) == to_content(RequestIn.model_validate_json(raw))


def test_declared_fields_use_the_documented_keys():
    content = content_from_json(json.dumps(REQUEST).encode())
    assert content.declared == {
        "client_number": "20481", "contact_name": "Jean-François Hervé", "contact_email": "JF.Herve@armor-logistique.fr",
        "severity": "critical", "server": "srv-armor-01", "external_reference": "RES-1",
    }  # fmt: skip
    assert content.from_address == "jf.herve@armor-logistique.fr"
    assert content.attachments[0].size == 4


def test_one_external_reference_gives_one_thread_id_per_account():
    first = content_from_json(json.dumps(REQUEST).encode())
    again = content_from_json(json.dumps(REQUEST | {"body": "suite"}).encode())
    other = content_from_json(json.dumps(REQUEST | {"client_number": "42118"}).encode())
    assert first.message_id == again.message_id and first.references == [first.message_id]
    assert other.message_id != first.message_id


def test_unknown_fields_are_refused():
    with pytest.raises(ValidationError):
        RequestIn.model_validate(REQUEST | {"priority": "high"})


def test_caps_apply_at_the_edge_but_never_to_a_stored_request():
    raw = json.dumps(REQUEST).encode()
    with pytest.raises(ValidationError):
        RequestIn.model_validate_json(raw, context={"caps": WebhookSettings(max_attachment=3)})
    assert content_from_json(raw).attachments


def alert(status="firing", starts="2026-11-26T10:00:00Z", **labels):
    return {
        "status": status, "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z", "fingerprint": "c4f5a1b2d3e4f506",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up", "annotations": {"summary": "srv-armor-01 is down"},
        "labels": {"alertname": "InstanceDown", "instance": "srv-armor-01:9100", "job": "node", **labels},
    }  # fmt: skip


def payload(*alerts, status="firing"):
    return AlertmanagerPayload.model_validate(
        {"version": "4", "groupKey": '{}:{alertname="InstanceDown"}', "status": status, "receiver": "guichet",
         "commonLabels": {"client_number": "20481"}, "externalURL": "http://alertmanager:9093", "alerts": list(alerts)}
    )  # fmt: skip


def test_a_firing_alert_declares_its_severity_and_the_labelled_account():
    [request] = requests_for(payload(alert(severity="critical")), WebhookSettings())
    assert (request.client_number, request.severity, request.server) == (
        "20481",
        "critical",
        "srv-armor-01:9100",
    )
    assert request.subject == "[FIRING] InstanceDown: srv-armor-01 is down"


def test_a_repeat_and_its_resolution_share_the_reference_but_a_new_firing_does_not():
    settings = WebhookSettings()
    [first] = requests_for(payload(alert()), settings)
    [resolved] = requests_for(payload(alert("resolved"), status="resolved"), settings)
    [later] = requests_for(payload(alert(starts="2026-11-27T08:00:00Z")), settings)
    assert first.external_reference == resolved.external_reference != later.external_reference
    assert resolved.severity == "info"


def test_a_label_that_is_not_a_client_number_is_not_declared():
    [request] = requests_for(payload(alert(client_number="ACME")), WebhookSettings())
    assert request.client_number is None and "client_number=ACME" in request.body


def test_the_token_bucket_refills_at_its_rate():
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=2, clock=lambda: now[0])
    assert [limiter.take("p") for _ in range(2)] == [0.0, 0.0]
    assert limiter.take("p") == pytest.approx(0.5)
    now[0] = 0.5
    assert limiter.take("p") == 0.0
    assert limiter.take("other") == 0.0
