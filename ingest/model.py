"""The request model both edges produce and the decisions the intake rules attach to it."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime

PAYLOAD_VERSION = 1
# Types a deep copy returns as they are: `plain` passes them through.
_AS_IS = frozenset((str, int, float, bool, type(None), datetime))
_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def plain(value):
    """`dataclasses.asdict` of a dataclass (or of anything inside one), four to five times
    faster: the field names of each class are looked up once, and immutable scalars are not
    deep-copied. The edges convert every decision and content with it, on their event loop."""
    kind = type(value)
    if kind in _AS_IS:
        return value
    names = _FIELD_NAMES.get(kind)
    if names is None and is_dataclass(value) and not isinstance(value, type):
        names = _FIELD_NAMES[kind] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: plain(getattr(value, name)) for name in names}
    if kind is list:
        return [plain(v) for v in value]
    if kind is dict:
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a named tuple, as asdict does
        return kind(*[plain(v) for v in value])
    if isinstance(value, list | tuple):
        return kind(plain(v) for v in value)
    if isinstance(value, dict):
        return kind((plain(k), plain(v)) for k, v in value.items())
    return copy.deepcopy(value)


@dataclass(frozen=True)
class Attachment:
    """Metadata of one attachment; the bytes stay in the stored raw message."""

    filename: str | None
    content_type: str
    size: int
    sha256: str
    disposition: str = "attachment"


@dataclass
class Content:
    """What an edge hands to the intake rules, whatever its door (SMTP or webhook)."""

    channel: str  # "smtp" | "webhook"
    subject: str = ""
    text: str = ""  # whole readable body (plain text, or HTML turned to text)
    from_address: str = ""  # address in the From header (lower-cased)
    from_name: str = ""  # display name in the From header
    envelope_sender: str = ""  # MAIL FROM ("" for a bounce)
    recipients: list[str] = field(default_factory=list)  # RCPT TO (lower-cased)
    headers: list[tuple[str, str]] = field(default_factory=list)  # decoded (name, value)
    message_id: str = ""  # without angle brackets
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    declared: dict = field(default_factory=dict)  # structured webhook fields
    defects: list[str] = field(default_factory=list)  # parse problems, never fatal
    client_ip: str = ""

    def header(self, name: str) -> str | None:
        """First value of a header, case-insensitive; None when absent."""
        lname = name.lower()
        for key, value in self.headers:
            if key.lower() == lname:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [value for key, value in self.headers if key.lower() == lname]


def content_to_dict(content: Content) -> dict:
    """`Content` as JSON-ready data (the inverse of `content_from_dict`)."""
    data = plain(content)
    data["headers"] = [list(pair) for pair in content.headers]
    return data


def content_from_dict(data: dict) -> Content:
    """Rebuild a `Content` stored as JSON by `content_to_dict`."""
    values = dict(data)
    values["headers"] = [tuple(pair) for pair in values.get("headers", ())]
    values["attachments"] = [Attachment(**a) for a in values.get("attachments", ())]
    return Content(**values)


@dataclass
class Finding:
    """One rule's verdict, kept for `guichet explain` and the ticket's intake trail."""

    rule: str
    field: str
    value: object
    why: str


@dataclass
class Identity:
    status: str = "unverified"  # "verified" | "unverified"
    client_number: str | None = None  # as written by the customer, even if unknown
    contact_name: str | None = None  # the declared contact that matched
    number_source: str | None = None
    name_source: str | None = None  # which candidate matched ("name-line", "signature", "from")
    account_known: bool = False  # internal only: never shown to an unverified sender
    sender_declared: bool = False  # From address is a declared contact email of the account
    sender_authenticated: bool | None = None  # None: no authentication result available
    auth: dict = field(default_factory=dict)  # {"spf": ..., "dkim": ..., "dmarc": ...}
    # "declared" | "authenticated" | "unknown" | "failed" (ingest/rules/sender_trust.py): who may
    # receive what of this request, and whether it may page freely. Unknown until shown.
    sender_trust: str = "unknown"
    trust_why: str = ""
    missing: list[str] = field(default_factory=list)  # "client_number", "contact_name"


@dataclass
class Urgency:
    level: str = "routine"  # "routine" | "urgent"
    requested: bool = False  # the customer (or partner) asked for urgent handling
    eligible: bool | None = None  # account has a dedicated server/service or transit
    signals: list[str] = field(default_factory=list)


@dataclass
class Category:
    services: list[str] = field(default_factory=list)
    servers: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    isp: list[str] = field(default_factory=list)
    connection: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # fields the acknowledgement asks for


@dataclass
class Suppression:
    acknowledge: bool = True
    skip_reason: str | None = None  # name of the rule that suppressed the acknowledgement


@dataclass
class Decision:
    """Everything the intake funnel decided about one request."""

    identity: Identity = field(default_factory=Identity)
    urgency: Urgency = field(default_factory=Urgency)
    category: Category = field(default_factory=Category)
    language: str = "fr"
    suppression: Suppression = field(default_factory=Suppression)
    trail: list[Finding] = field(default_factory=list)
    received_at: datetime | None = None
    version: int = PAYLOAD_VERSION

    def to_dict(self) -> dict:
        data = plain(self)
        if self.received_at is not None:
            data["received_at"] = self.received_at.isoformat()
        return data


def decision_from_dict(data: dict) -> Decision:
    """Rebuild a `Decision` stored as JSON (the inverse of `Decision.to_dict`)."""
    received = data.get("received_at")
    return Decision(
        identity=Identity(**data.get("identity", {})),
        urgency=Urgency(**data.get("urgency", {})),
        category=Category(**data.get("category", {})),
        language=data.get("language", "fr"),
        suppression=Suppression(**data.get("suppression", {})),
        trail=[Finding(**f) for f in data.get("trail", [])],
        received_at=datetime.fromisoformat(received) if received else None,
        version=data.get("version", PAYLOAD_VERSION),
    )
