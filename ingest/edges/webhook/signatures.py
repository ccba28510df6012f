"""Partner authentication: Standard Webhooks signatures, bearer secrets, and Mailgun-style form signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets as random
from collections.abc import Mapping, Sequence

SECRET_PREFIX = "whsec_"  # Standard Webhooks: the secret is shown as whsec_ + base64 of its bytes
SECRET_BYTES = 32
SIGNATURE_VERSION = "v1"
HEADERS = ("webhook-id", "webhook-timestamp", "webhook-signature")


class AuthFailure(Exception):
    """Which check failed (a problem type name), and a detail that never contains a secret."""

    def __init__(self, kind: str, detail: str):
        super().__init__(detail)
        self.kind, self.detail = kind, detail


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random.token_bytes(SECRET_BYTES)).decode()


def key_bytes(secret: str) -> bytes:
    """The HMAC key: the decoded bytes of a whsec_ secret, or an imported provider key as written."""
    if secret.startswith(SECRET_PREFIX):
        return base64.b64decode(secret[len(SECRET_PREFIX) :])
    return secret.encode()


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """The `webhook-signature` value a partner sends for this body."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key_bytes(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def check_timestamp(value: str, now: float, tolerance: int) -> None:
    try:
        stamp = int(value)
    except ValueError:
        raise AuthFailure(
            "invalid-timestamp", "webhook-timestamp must be whole seconds since the epoch"
        ) from None
    if abs(now - stamp) > tolerance:
        raise AuthFailure(
            "stale-timestamp", f"webhook-timestamp is more than {tolerance} s away from our clock"
        )


def check_headers(headers: Mapping[str, str], *, now: float, tolerance: int) -> None:
    """What can be checked before the body is read: the headers are there, the time is close."""
    missing = [name for name in HEADERS if not headers.get(name)]
    if missing:
        raise AuthFailure("missing-signature", f"missing header(s): {', '.join(missing)}")
    check_timestamp(headers["webhook-timestamp"], now, tolerance)


def request_line(method: str, path: str) -> bytes:
    """What a body-less request (GET status) signs in place of a body: "GET /v1/…/requests/ID"."""
    return f"{method.upper()} {path}".encode()


def verify(
    headers: Mapping[str, str], body: bytes, secrets: Sequence[str], *, now: float, tolerance: int
) -> str:
    """Check the Standard Webhooks headers; returns the webhook-id."""
    check_headers(headers, now=now, tolerance=tolerance)
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    offered = [
        s for s in headers["webhook-signature"].split() if s.startswith(SIGNATURE_VERSION + ",")
    ]
    expected = [sign(secret, msg_id, stamp, body).encode() for secret in secrets]
    # Every pair is compared, in constant time each, so timing says nothing about which one matched.
    matches = [hmac.compare_digest(o.encode(), e) for o in offered for e in expected]
    if not any(matches):
        raise AuthFailure(
            "no-matching-signature", "no v1 signature matches an active secret of this partner"
        )
    return msg_id


def verify_bearer(authorization: str, secrets: Sequence[str]) -> None:
    """`Authorization: Bearer <secret>`, for senders that cannot sign (Alertmanager's http_config)."""
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthFailure(
            "missing-signature", "send webhook-signature headers or Authorization: Bearer <secret>"
        )
    matches = [hmac.compare_digest(token.strip().encode(), s.encode()) for s in secrets]
    if not any(matches):
        raise AuthFailure(
            "no-matching-signature", "the bearer token matches no active secret of this partner"
        )


def mailgun_signature(secret: str, timestamp: str, token: str) -> str:
    """Hex HMAC-SHA256 of timestamp + token, as inbound-mail providers (Mailgun) compute it."""
    return hmac.new(key_bytes(secret), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def verify_form(
    fields: Mapping[str, str], secrets: Sequence[str], *, now: float, tolerance: int
) -> str:
    """Check a provider's form signature; returns its token (the idempotency key)."""
    missing = [name for name in ("timestamp", "token", "signature") if not fields.get(name)]
    if missing:
        raise AuthFailure("missing-signature", f"missing form field(s): {', '.join(missing)}")
    check_timestamp(fields["timestamp"], now, tolerance)
    offered = fields["signature"].strip().lower().encode()
    expected = [
        mailgun_signature(s, fields["timestamp"], fields["token"]).encode() for s in secrets
    ]
    if not any([hmac.compare_digest(offered, e) for e in expected]):
        raise AuthFailure(
            "no-matching-signature", "the form signature matches no active secret of this partner"
        )
    return fields["token"]
