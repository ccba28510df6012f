"""Inbound-mail providers that forward raw MIME in a form (Mailgun-style): the message takes the email path."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request

from ingest.analysis import Envelope
from ingest.edges.webhook.form_stream import FormError, StreamedForm
from ingest.edges.webhook.limits import WebhookSettings
from ingest.edges.webhook.problems import Problem

SIGNED_FIELDS = ("timestamp", "token", "signature")


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


async def read_signed_form(
    request: Request, settings: WebhookSettings, verify: Callable[[dict], Awaitable[str]]
) -> tuple[dict[str, str], bytes, str]:
    """The text fields, the raw message and the signature's token, read as the form streams in.

    The signature is checked as soon as its fields have arrived, and reading stops there when it
    is wrong; a form that has not shown them within `max_unauthenticated` bytes is refused."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_mime:
        raise Problem(
            "payload-too-large",
            f"the body declares {declared} bytes; the limit is {settings.max_mime}",
        )
    try:
        form = StreamedForm(request.headers.get("content-type", ""), settings.max_mime)
    except FormError as error:
        raise Problem("invalid-body", str(error)) from None
    try:
        token = await _stream(request, form, settings, verify)
        message = form.message()
    except FormError as error:
        kind = "payload-too-large" if "limit" in str(error) else "invalid-body"
        raise Problem(kind, str(error)) from None
    finally:
        form.discard()
    if not message:
        raise Problem("invalid-body", "body-mime: field required (the raw message)")
    return form.fields, message, token


async def _stream(request: Request, form: StreamedForm, settings: WebhookSettings, verify) -> str:
    token, read = None, 0
    async for chunk in request.stream():
        read += len(chunk)
        form.feed(chunk)
        if token is None and all(form.fields.get(f) for f in SIGNED_FIELDS):
            token = await verify(form.fields)
        elif token is None and read > settings.max_unauthenticated:
            raise Problem(
                "missing-signature",
                f"timestamp, token and signature must come within the first "
                f"{settings.max_unauthenticated} bytes of the form, before the message",
            )
    return token if token is not None else await verify(form.fields)


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
