"""Inbound-mail providers that forward raw MIME in a form (Mailgun-style): the message takes the email path."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import UploadFile
from starlette.requests import Request

from ingest.analysis import Envelope
from ingest.edges.webhook.problems import Problem

MIME_FIELDS = ("body-mime", "message")  # Mailgun's "store and notify" name, then a generic one


class MimeForm(BaseModel):
    """The form a provider posts (multipart/form-data or urlencoded); documented, read by hand."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    timestamp: str = Field(pattern=r"^[0-9]{1,12}$", description="seconds since the epoch, signed")
    token: str = Field(min_length=1, description="random, unique per post: the idempotency key")
    signature: str = Field(
        pattern=r"^[0-9a-f]{64}$",
        description="hex HMAC-SHA256 of timestamp + token with the partner's key",
    )
    recipient: str = Field(
        min_length=3, description="the support address(es) the mail was sent to, comma-separated"
    )
    sender: str = Field("", description="the envelope sender (Return-Path)")
    body_mime: str = Field(
        alias="body-mime", min_length=1, description="the whole message as received (RFC 5322)"
    )


async def read_form(request: Request, body: bytes, max_size: int) -> tuple[dict[str, str], bytes]:
    """The text fields and the raw message, from a body already read within its cap."""
    replay = Request(request.scope, _replay(body))
    try:
        form = await replay.form(max_files=2, max_fields=100, max_part_size=max_size)
    except Exception:  # a malformed form is the sender's problem, reported without our internals
        raise Problem(
            "invalid-body", "the body is not a readable form (multipart/form-data or urlencoded)"
        ) from None
    fields, message = {}, b""
    for key, value in form.multi_items():
        if key in MIME_FIELDS and not message:
            message = await value.read() if isinstance(value, UploadFile) else value.encode()
        elif isinstance(value, str):
            fields[key] = value
    if not message:
        raise Problem("invalid-body", "body-mime: field required (the raw message)")
    return fields, message


def mail_envelope(fields: dict[str, str], accepts, partner: str, client_ip: str) -> Envelope:
    """The envelope an SMTP session would have given, from the provider's fields."""
    recipients = [r.strip().lower() for r in fields.get("recipient", "").split(",") if r.strip()]
    ours = [r for r in recipients if accepts(r)]
    if not ours:
        raise Problem(
            "unknown-recipient", "recipient: none of the addresses is a support address here"
        )
    sender = fields.get("sender", "").strip().strip("<>")
    return Envelope("smtp", sender, ours, datetime.now(UTC), client_ip, partner)


def _replay(body: bytes):
    sent = False

    async def receive() -> dict:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
