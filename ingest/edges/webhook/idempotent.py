"""Answer a repeated idempotency key with the first answer, and never run the same request twice."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable

from starlette.responses import Response

from ingest import metrics
from ingest.edges.webhook.ports import Idempotency
from ingest.edges.webhook.problems import MEDIA_TYPE, Problem

REPLAYED_HEADER = "Idempotent-Replayed"


async def once(
    store: Idempotency,
    partner: str,
    key: str | None,
    body: bytes,
    produce: Callable[[], Awaitable[Response]],
) -> Response:
    """Run `produce` the first time `key` is seen for this partner; replay its answer afterwards."""
    if not key:
        return await produce()
    digest = hashlib.sha256(body).hexdigest()
    seen = await asyncio.to_thread(store.begin, partner, key, digest)
    if seen is not None:
        return _repeat(seen, digest)
    try:
        response = await produce()
    except BaseException:
        await asyncio.to_thread(store.release, partner, key)  # not durable: a retry must run again
        raise
    await asyncio.to_thread(store.finish, partner, key, response.status_code, bytes(response.body))
    return response


def _repeat(seen, digest: str) -> Response:
    if seen.body_sha256 != digest:
        raise Problem(
            "idempotency-key-reused", "this key was first used with a different body; use a new key"
        )
    if seen.status is None:
        raise Problem(
            "idempotency-in-progress",
            "the first request with this key is still being processed; retry shortly",
            retry_after=1,
        )
    metrics.duplicate("webhook")  # answered with the first answer: a duplicate intake
    media = MEDIA_TYPE if seen.status >= 400 else "application/json"
    return Response(seen.body, seen.status, headers={REPLAYED_HEADER: "true"}, media_type=media)
