"""Prometheus Alertmanager (webhook version 4) → one `RequestIn` per alert; repeats share a reference."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ingest.edges.webhook.limits import WebhookSettings
from ingest.edges.webhook.models import RequestIn

RESOLVED_SEVERITY = "info"  # a resolution is a note on the incident, never a new urgent request


class Alert(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    status: Literal["firing", "resolved"]
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: str = ""
    endsAt: str = ""
    generatorURL: str = ""
    fingerprint: str = ""


class AlertmanagerPayload(BaseModel):
    """What Alertmanager POSTs to a `webhook_config` (version "4")."""

    model_config = ConfigDict(extra="allow", strict=True)
    version: Literal["4"]
    groupKey: str
    truncatedAlerts: int = 0
    status: Literal["firing", "resolved"]
    receiver: str = ""
    groupLabels: dict[str, str] = Field(default_factory=dict)
    commonLabels: dict[str, str] = Field(default_factory=dict)
    commonAnnotations: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[Alert] = Field(min_length=1)


def requests_for(payload: AlertmanagerPayload, settings: WebhookSettings) -> list[RequestIn]:
    return [to_request(payload, alert, settings) for alert in payload.alerts]


def incident_reference(group_key: str, alert: Alert) -> str:
    """groupKey + fingerprint + startsAt: the same firing, however often Alertmanager repeats it."""
    material = f"{group_key}\0{alert.fingerprint}\0{alert.startsAt}".encode()
    return "alertmanager:" + hashlib.sha256(material).hexdigest()[:32]


def to_request(payload: AlertmanagerPayload, alert: Alert, settings: WebhookSettings) -> RequestIn:
    labels = payload.commonLabels | alert.labels
    firing = alert.status == "firing"
    severity = (
        labels.get(settings.severity_label, settings.default_severity)
        if firing
        else RESOLVED_SEVERITY
    )
    return RequestIn(
        subject=_subject(alert, labels),
        body=_body(payload, alert, labels),
        client_number=_client(labels.get(settings.client_label)),
        contact_name=labels.get(settings.contact_name_label),
        contact_email=labels.get(settings.contact_email_label),
        severity=severity,
        server=labels.get("instance"),
        service=labels.get("job"),
        url=alert.generatorURL or None,
        external_reference=incident_reference(payload.groupKey, alert),
    )


def _client(value: str | None) -> str | None:
    """A label that is not a 5-digit number is kept in the body, never sent as a malformed field."""
    value = (value or "").strip()
    return value if len(value) == 5 and value.isdigit() else None


def _subject(alert: Alert, labels: dict[str, str]) -> str:
    name = labels.get("alertname", "alert")
    summary = alert.annotations.get("summary", "")
    state = "RESOLVED" if alert.status == "resolved" else "FIRING"
    return (f"[{state}] {name}" + (f": {summary}" if summary else ""))[:998]


def _body(payload: AlertmanagerPayload, alert: Alert, labels: dict[str, str]) -> str:
    lines = [
        f"Alert {alert.status} since {alert.startsAt}"
        + (f", ended {alert.endsAt}" if alert.status == "resolved" else "")
    ]
    lines += [f"{key}: {value}" for key, value in sorted(alert.annotations.items())]
    lines += ["", "Labels:"] + [f"  {key}={value}" for key, value in sorted(labels.items())]
    lines += [
        "",
        f"Source: {alert.generatorURL or payload.externalURL}",
        f"Group: {payload.groupKey}",
    ]
    lines += [
        "",
        "Alert as received:",
        json.dumps(alert.model_dump(), ensure_ascii=False, sort_keys=True),
    ]
    return "\n".join(lines)
