"""A partner's JSON request ⇄ the `Content` the intake rules read; the worker rebuilds it from the stored bytes."""

from __future__ import annotations

import hashlib

from ingest.edges.webhook.models import RequestIn
from ingest.model import Attachment, Content

DECLARED = (
    "client_number",
    "contact_name",
    "contact_email",
    "severity",
    "service",
    "server",
    "url",
    "language",
    "external_reference",
)
REFERENCE_DOMAIN = "webhook.guichet.invalid"  # never a real host: these ids only thread tickets


def content_from_json(raw: bytes) -> Content:
    """The stored request body → the same `Content` the edge analysed."""
    return to_content(RequestIn.model_validate_json(raw))


def to_content(request: RequestIn) -> Content:
    thread = reference_id(request)
    return Content(
        channel="webhook",
        subject=request.subject,
        text=request.body,
        from_address=(request.contact_email or "").lower(),
        from_name=request.contact_name or "",
        message_id=thread,
        references=[thread] if thread else [],
        attachments=[_attachment(a) for a in request.attachments],
        declared=declared(request),
    )


def declared(request: RequestIn) -> dict:
    values = {key: getattr(request, key) for key in DECLARED}
    return {key: value for key, value in values.items() if value is not None}


def reference_id(request: RequestIn) -> str:
    """A Message-ID-like id shared by every request with the same account and external reference.

    The worker threads a message whose References name an earlier message's id, so requests
    carrying one partner reference join one ticket without any webhook-specific threading.
    """
    if not request.external_reference:
        return ""
    material = f"{request.client_number or ''}\0{request.external_reference}".encode()
    return f"{hashlib.sha256(material).hexdigest()[:40]}@{REFERENCE_DOMAIN}"


def _attachment(item) -> Attachment:
    data = item.data()
    return Attachment(item.filename, item.content_type, len(data), hashlib.sha256(data).hexdigest())
