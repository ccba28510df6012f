"""After Redis comes back (a restart, a failover), re-enqueue at once what it lost: every
intake still waiting for its ticket, every pending acknowledgement and every scheduled on-call
page that no message on any queue (delayed ones included) points at any more — instead of
waiting for the sweeper's grace period (intakes, acknowledgements) or forever (pages)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta

import dramatiq
import redis
from sqlalchemy import select

from ingest.queueing import CREATE_TICKET, CREATE_URGENT_TICKET, enqueue_intake
from workers.acks.retrying import chain_alive
from workers.running.runtime import Runtime
from workers.store.schema import AckRow, IntakeRow, PageRow

log = logging.getLogger("guichet.recovery")
CLAIM_SECONDS = 300  # one worker per Redis server life does the recovery


def server_id(client: redis.Redis) -> str:
    """The Redis server's run id: a new one means a new server life (restart, failover)."""
    return client.info("server")["run_id"]


def queued_ids(client: redis.Redis, namespace: str = "dramatiq") -> dict[str, set]:
    """Actor name → first arguments of the messages waiting on the queues: those on a queue's
    list, and every delayed one not yet fetched. A message in a worker's hands is not counted:
    a connection lost mid-message may end it neither done nor retried, and a second copy of it
    is a no-op (`create_ticket` is idempotent, `send_ack` checks its attempt, a page is sent
    once). That holds for delayed messages too: a worker's delay-queue consumer keeps the ones
    it fetched in memory until they are due, and forgets them when its connection drops, while
    Redis keeps them as "in hand" for as long as that worker lives (seen: an intake never filed
    after the second of two Redis restarts). Dead-lettered ones are parked and reported, not
    waiting."""
    in_hand: set[bytes] = set()
    for key in client.scan_iter(match=f"{namespace}:__acks__.*", count=500):
        in_hand |= client.smembers(key)
    found: dict[str, set] = {}
    for key in client.scan_iter(match=f"{namespace}:*.msgs", count=500):
        queue = key[: -len(b".msgs")]
        if queue.endswith(b".XQ"):
            continue
        if queue.endswith(b".DQ"):
            delayed = [i for i in client.hkeys(key) if i not in in_hand]
            bodies = client.hmget(key, delayed) if delayed else []
        else:
            waiting = client.lrange(queue, 0, -1)
            bodies = client.hmget(key, waiting) if waiting else []
        for raw in bodies:
            try:
                message = json.loads(raw)
                found.setdefault(message["actor_name"], set()).add(message["args"][0])
            except (ValueError, KeyError, IndexError, TypeError):
                continue
    return found


def recover(rt: Runtime, broker: dramatiq.Broker, client: redis.Redis, run_id: str) -> int:
    """Re-enqueue what the new server life lacks; only one worker per `run_id` does it."""
    claim = f"guichet:recovered:{run_id}"
    if not client.set(claim, "1", nx=True, ex=CLAIM_SECONDS):
        return 0
    try:
        queued = queued_ids(client)
        intakes, acks, pages = _waiting(rt)
        tickets = queued.get(CREATE_TICKET, set()) | queued.get(CREATE_URGENT_TICKET, set())
        lost = {
            "intakes": [i for i in intakes if i.id not in tickets],
            "acknowledgements": [a for a in acks if a.id not in queued.get("send_ack", set())],
            "pages": [p for p in pages if p not in queued.get("page_oncall", set())],
        }
        _requeue(broker, **lost)
    except Exception:
        client.delete(claim)  # another worker, or this one at its next look, tries again
        raise
    counts = {kind: len(items) for kind, items in lost.items()}
    if any(counts.values()):
        log.warning(
            "Redis came back without some messages: re-enqueued",
            extra=counts | {"run_id": run_id},
        )
    return sum(counts.values())


def _waiting(rt: Runtime) -> tuple[list, list, list[int]]:
    """Intakes not filed, acknowledgements pending (no retry scheduled), pages scheduled."""
    at, grace = datetime.now(UTC), timedelta(seconds=rt.settings.sweep_grace)
    with rt.sessions() as session:
        intakes = session.execute(
            select(IntakeRow.id, IntakeRow.queue).where(IntakeRow.status == "received")
        ).all()
        acks = session.execute(
            select(AckRow.id, AckRow.intake_id, AckRow.attempts).where(AckRow.status == "pending")
        ).all()
        # A retry chain waiting for its time is recovered by the sweeper once it is overdue.
        acks = [a for a in acks if not chain_alive(session, a.intake_id, at, grace)]
        pages = session.scalars(select(PageRow.id).where(PageRow.status == "scheduled")).all()
    return intakes, acks, list(pages)


def _requeue(broker: dramatiq.Broker, *, intakes, acknowledgements, pages) -> None:
    from workers.actors import schedule_page, send_ack

    for intake in intakes:
        enqueue_intake(broker, intake.id, intake.queue or "tickets.routine")
    for ack in acknowledgements:
        send_ack.send(ack.id, ack.attempts)
    for page_id in pages:
        schedule_page(page_id)  # delayed again until it is due, or sent now
