"""The OpenAPI 3.1 description, assembled from the pydantic models, and a self-contained HTML page of it."""

from __future__ import annotations

import json
from functools import lru_cache
from html import escape

from pydantic.json_schema import models_json_schema

from ingest.edges.webhook.alertmanager import AlertmanagerPayload
from ingest.edges.webhook.models import (
    Accepted,
    AlertsAccepted,
    Health,
    ProblemOut,
    RequestIn,
    RequestStatus,
)
from ingest.edges.webhook.ports import PARTNER_NAME
from ingest.edges.webhook.problems import TYPES
from ingest.edges.webhook.raw_mime import MimeForm

MODELS = (
    RequestIn,
    Accepted,
    AlertsAccepted,
    RequestStatus,
    ProblemOut,
    Health,
    AlertmanagerPayload,
    MimeForm,
)
REF = "#/components/schemas/{model}"
SIGNED = [{"webhookSignature": []}]
SIGNED_OR_BEARER = [{"webhookSignature": []}, {"bearerSecret": []}]
PARTNER = {
    "name": "partner",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": PARTNER_NAME},
}
SIGNATURE_HEADERS = [
    {
        "name": name,
        "in": "header",
        "required": False,
        "schema": {"type": "string"},
        "description": why,
    }
    for name, why in (
        ("webhook-id", "unique per message; also the idempotency key"),
        ("webhook-timestamp", "seconds since the epoch"),
        ("webhook-signature", "space-separated v1,<base64 HMAC-SHA256 of id.timestamp.body>"),
        ("Idempotency-Key", "overrides webhook-id as the idempotency key"),
    )
]


# The partner-less routes (`/v1/requests…`) for systems given one fixed URL.
PARTNER_HEADER = {
    "name": "webhook-partner",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "pattern": PARTNER_NAME},
    "description": "your partner name; without it, the partner whose secret made the signature "
    "(required with a bearer secret, which names no partner)",
}


def _ref(model) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _json(model) -> dict:
    return {"application/json": {"schema": _ref(model)}}


def _responses(success: tuple[int, type], *problems: int) -> dict:
    status, model = success
    out = {str(status): {"description": "success", "content": _json(model)}}
    for code in sorted({*problems, 500}):
        titles = sorted({t.title for t in TYPES.values() if t.status == code})
        out[str(code)] = {
            "description": "; ".join(titles),
            "content": {"application/problem+json": {"schema": _ref(ProblemOut)}},
        }
    return out


def _post(
    summary: str,
    body: dict,
    success: tuple[int, type],
    security,
    *problems: int,
    who: dict = PARTNER,
) -> dict:
    return {
        "summary": summary,
        "parameters": [who, *SIGNATURE_HEADERS],
        "security": security,
        "requestBody": {"required": True, "content": body},
        "responses": _responses(success, 400, 401, 409, 413, 422, 429, 503, *problems),
    }


def _paths() -> dict:
    form = {
        "multipart/form-data": {"schema": _ref(MimeForm)},
        "application/x-www-form-urlencoded": {"schema": _ref(MimeForm)},
    }
    health = {
        "responses": {
            "200": {"description": "ok", "content": _json(Health)},
            "503": {"description": "a dependency is unreachable", "content": _json(Health)},
        }
    }
    status = {"name": "intake_id", "in": "path", "required": True, "schema": {"type": "string"}}
    opened = "Open a support request"
    stands = "Where a request stands: queued, ticketed (with its number), duplicate or refused"

    def where(who: dict) -> dict:
        return {
            "summary": stands,
            "parameters": [who, status, *SIGNATURE_HEADERS],
            "security": SIGNED_OR_BEARER,
            "responses": _responses((200, RequestStatus), 401, 404, 429),
        }

    return {
        "/v1/partners/{partner}/requests": {
            "post": _post(opened, _json(RequestIn), (202, Accepted), SIGNED, 403)
        },
        "/v1/partners/{partner}/requests/{intake_id}": {"get": where(PARTNER)},
        "/v1/requests": {
            "post": _post(
                opened + " (partner from the webhook-partner header or the signature)",
                _json(RequestIn),
                (202, Accepted),
                SIGNED,
                403,
                who=PARTNER_HEADER,
            )
        },
        "/v1/requests/{intake_id}": {"get": where(PARTNER_HEADER)},
        "/v1/partners/{partner}/alertmanager": {
            "post": _post(
                "Prometheus Alertmanager webhook (version 4)",
                _json(AlertmanagerPayload),
                (202, AlertsAccepted),
                SIGNED_OR_BEARER,
                403,
            )
        },
        "/v1/partners/{partner}/mime": {
            "post": _post(
                "Raw MIME forwarded by an inbound-mail provider", form, (202, Accepted), [], 403
            )
        },
        "/healthz": {
            "get": {
                "summary": "The process is up",
                "responses": {"200": health["responses"]["200"]},
            }
        },
        "/readyz": {"get": {"summary": "Database and broker reachable", **health}},
    }


@lru_cache(maxsize=1)
def document() -> dict:
    _, schemas = models_json_schema([(m, "validation") for m in MODELS], ref_template=REF)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "guichet webhooks",
            "version": "1",
            "description": "Partner systems open support requests. See docs/webhooks.md.",
        },
        "paths": _paths(),
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "webhookSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "webhook-signature",
                    "description": "Standard Webhooks v1",
                },
                "bearerSecret": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "the partner secret itself (Alertmanager)",
                },
            },
        },
    }


@lru_cache(maxsize=1)
def html_page() -> str:
    """A page that loads nothing from elsewhere: each path, then each schema and problem type."""
    doc = document()
    parts = [
        "<!doctype html><meta charset=utf-8><title>guichet webhooks</title><h1>guichet webhooks</h1>",
        '<p><a href="/openapi.json">openapi.json</a></p>',
    ]
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            codes = ", ".join(op["responses"])
            parts.append(
                f"<h2>{method.upper()} {escape(path)}</h2><p>{escape(op['summary'])} — answers {codes}</p>"
            )
    parts.append("<h2>Problem types</h2><dl>")
    for slug, kind in TYPES.items():
        parts.append(
            f'<dt id="problem-{slug}">{slug} ({kind.status})</dt><dd>{escape(kind.title)}</dd>'
        )
    parts.append("</dl><h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        parts.append(
            f"<h3 id='schema-{name}'>{name}</h3><pre>{escape(json.dumps(schema, indent=2, ensure_ascii=False))}</pre>"
        )
    return "\n".join(parts)
