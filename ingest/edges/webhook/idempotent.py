"""Answer a repeated idempotency key with the first answer, and never store the same request twice.

A request of one intake (`/requests`, `/mime`) has its key committed with the intake itself
(`once_key`, `ingest.idempotency_keys`). A request of several intakes (`/alertmanager`), each
durable before the next starts, claims its key first and records its answer last (`once`).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import weakref
from collections.abc import Awaitable, Callable

from starlette.responses import Response

from ingest import metrics
from ingest.commit_thread import CommitThread
from ingest.edges.webhook.ports import Idempotency
from ingest.edges.webhook.problems import MEDIA_TYPE, Problem
from ingest.idempotency_keys import OnceKey, Remembered

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
    batches = _batches(store)
    seen = await batches.begin.run((partner, key, digest))
    if isinstance(seen, Exception):
        raise seen
    if seen is not None:
        return repeat(seen, digest)
    try:
        response = await produce()
    except BaseException:
        await asyncio.to_thread(store.release, partner, key)  # not durable: a retry must run again
        raise
    failed = await batches.finish.run((partner, key, response.status_code, bytes(response.body)))
    if isinstance(failed, Exception):
        raise failed
    return response


class _Batches:
    """Claims and answers of concurrent requests written together: each was a transaction
    of its own (two of the three writes, and fsyncs, of a webhook request), taking turns
    with every other writer of the database."""

    def __init__(self, store: Idempotency):
        # Weakly: the threads must not keep a store (its engine, its files) alive.
        begin, finish = weakref.WeakMethod(store.begin_many), weakref.WeakMethod(store.finish_many)
        self.begin = CommitThread(_each(begin), None, "guichet-idempotency-begin")
        self.finish = CommitThread(_each(finish), None, "guichet-idempotency-finish")


def _each(many: weakref.WeakMethod) -> Callable[[list], list]:
    """`many()`, whose failure becomes each job's outcome (raised again by its caller), instead
    of `CommitThread`'s one `failed` value."""

    def run(jobs: list) -> list:
        try:
            return many()(jobs)
        except Exception as exc:
            return [exc] * len(jobs)

    return run


_BATCHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _batches(store: Idempotency) -> _Batches:
    """The store's batch writers, made on first use."""
    found = _BATCHES.get(store)
    if found is None:
        found = _BATCHES[store] = _Batches(store)
    return found


def once_key(
    partner: str, key: str | None, body: bytes, answer: Callable[[str, str], tuple[int, bytes]]
) -> OnceKey | None:
    """The key to commit with a request of one intake (None without a key); `answer(partner,
    intake_id)` is what it and its retries are told."""
    if not key:
        return None
    return OnceKey(
        partner, key, hashlib.sha256(body).hexdigest(), functools.partial(answer, partner)
    )


def repeat(seen: Remembered, digest: str) -> Response:
    """The answer to a request whose key is recorded: the first answer, or why there is none."""
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
