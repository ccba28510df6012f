"""Every problem the webhook edge can answer (RFC 9457 application/problem+json), in one place."""

from __future__ import annotations

import json
from dataclasses import dataclass

from starlette.responses import Response

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/docs#problem-"  # relative URI: resolves to the section of the browsable docs


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str


TYPES: dict[str, ProblemType] = {
    "invalid-body": ProblemType(400, "The request body does not match the schema"),
    "missing-signature": ProblemType(401, "Authentication headers are missing"),
    "invalid-timestamp": ProblemType(401, "The signature timestamp is not a number"),
    "stale-timestamp": ProblemType(401, "The signature timestamp is outside the tolerance"),
    "no-matching-signature": ProblemType(401, "No signature matches an active secret"),
    "idempotency-key-mismatch": ProblemType(
        400, "Idempotency-Key differs from the signed webhook-id"
    ),
    "client-not-allowed": ProblemType(403, "This partner may not open requests for this account"),
    "unknown-recipient": ProblemType(403, "None of the recipients is a support address"),
    "not-found": ProblemType(404, "No such resource"),
    "method-not-allowed": ProblemType(405, "Method not allowed on this resource"),
    "idempotency-in-progress": ProblemType(
        409, "A request with this idempotency key is still being processed"
    ),
    "payload-too-large": ProblemType(413, "The request body is too large"),
    "idempotency-key-reused": ProblemType(
        422, "This idempotency key was used for a different body"
    ),
    "rate-limited": ProblemType(429, "Too many requests from this partner"),
    "too-many-failures": ProblemType(429, "Too many failed authentications from this address"),
    "internal-error": ProblemType(500, "Internal error"),
    "not-durable": ProblemType(503, "The request could not be stored or queued; retry later"),
    "not-ready": ProblemType(503, "A dependency is unreachable"),
}


class Problem(Exception):
    """Raised anywhere in a route; the app turns it into its problem+json answer."""

    def __init__(
        self,
        kind: str,
        detail: str,
        *,
        retry_after: int | None = None,
        headers: dict | None = None,
        **extra,
    ):
        super().__init__(detail)
        self.kind, self.detail, self.extra = kind, detail, extra
        self.headers = dict(headers or {}) | (
            {"Retry-After": str(retry_after)} if retry_after is not None else {}
        )

    @property
    def status(self) -> int:
        return TYPES[self.kind].status

    def response(self) -> Response:
        kind = TYPES[self.kind]
        body = {
            "type": TYPE_BASE + self.kind,
            "title": kind.title,
            "status": kind.status,
            "detail": self.detail,
        }
        content = json.dumps(body | self.extra, ensure_ascii=False).encode()
        return Response(content, kind.status, headers=self.headers, media_type=MEDIA_TYPE)


def schema_problem(errors: list[dict]) -> Problem:
    """400 naming the first failing field; every error is listed under `errors`."""
    listed = [{"field": _where(e.get("loc", ())), "message": e.get("msg", "")} for e in errors]
    first = listed[0] if listed else {"field": "(body)", "message": "invalid"}
    return Problem("invalid-body", f"{first['field']}: {first['message']}", errors=listed)


def _where(loc) -> str:
    return ".".join(str(part) for part in loc) or "(body)"
