"""The JSON the webhook edge accepts and answers, as pydantic models (they also make the OpenAPI schemas)."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from ingest.edges.webhook.limits import WebhookSettings

Text = Annotated[str, Field(max_length=200)]
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"  # RFC 4648 §4, padded
DOCUMENTED_CAPS = (
    WebhookSettings()
)  # the schema shows the caps configured at start; the edge enforces them


class AttachmentIn(BaseModel):
    """A small file; its bytes are kept in the stored request, its metadata goes on the ticket."""

    model_config = ConfigDict(extra="forbid", strict=True)
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field(
        "application/octet-stream", pattern=r"^[\w.+-]+/[\w.+-]+$", max_length=127
    )
    content_base64: str = Field(
        pattern=BASE64,
        description="the file's bytes, base64 (RFC 4648 §4)",
        json_schema_extra={"maxLength": (DOCUMENTED_CAPS.max_attachment + 2) // 3 * 4},
    )

    @field_validator("content_base64")
    @classmethod
    def _is_base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("not valid base64") from None
        return value

    def data(self) -> bytes:
        return base64.b64decode(self.content_base64)


class RequestIn(BaseModel):
    """A support request a partner opens on behalf of a customer."""

    model_config = ConfigDict(extra="forbid", strict=True)
    subject: str = Field(min_length=1, max_length=998)
    body: str = Field(max_length=200_000, description="the customer's text")
    client_number: str | None = Field(
        None, pattern=r"^[0-9]{5}$", description="the account, exactly 5 digits"
    )
    contact_name: Text | None = Field(None, description="a contact declared on that account")
    contact_email: str | None = Field(
        None,
        max_length=320,
        pattern=r"^[^@\s]+@[^@\s]+$",
        description="where the acknowledgement goes; none is sent without it",
    )
    language: Literal["fr", "en"] | None = None
    severity: str | None = Field(
        None, max_length=40, description="critical | major | minor | info, or the partner's word"
    )
    service: Text | None = None
    server: Text | None = None
    url: str | None = Field(None, max_length=2048)
    external_reference: Text | None = Field(
        None,
        description="the partner's own reference; later requests with the same one join the same ticket",
    )
    attachments: list[AttachmentIn] = Field(
        default_factory=list, json_schema_extra={"maxItems": DOCUMENTED_CAPS.max_attachments}
    )

    @model_validator(mode="after")
    def _within_caps(self, info: ValidationInfo) -> RequestIn:
        """Size caps apply at the edge (the context carries them); a stored request is never refused."""
        caps = (info.context or {}).get("caps")
        if caps is None:
            return self
        if len(self.attachments) > caps.max_attachments:
            raise ValueError(f"at most {caps.max_attachments} attachments")
        for item in self.attachments:
            if len(item.data()) > caps.max_attachment:
                raise ValueError(
                    f"attachment {item.filename!r} exceeds {caps.max_attachment} bytes"
                )
        return self


class Accepted(BaseModel):
    intake_id: str
    status_url: str


class AlertsAccepted(BaseModel):
    intakes: list[Accepted] = Field(description="one intake per alert, in the payload's order")


class RequestStatus(BaseModel):
    intake_id: str
    status: Literal["queued", "ticketed", "duplicate", "refused"]
    ticket_number: int | None = None
    authorised: bool | None = Field(
        None, description="false: identification incomplete, no technical intervention yet"
    )
    acknowledgement: str | None = Field(None, description="pending | sent | skipped")
    reason: str | None = None


class ProblemOut(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str] = Field(default_factory=dict)
