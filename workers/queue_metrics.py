"""What is waiting, read at scrape time: the Dramatiq queues in Redis and the parked messages.

Cheap on purpose: one pipelined round trip for the depths of every queue, one more for the
oldest waiting message of the queues that have one, and one `count(*)` in the store."""

from __future__ import annotations

import json
import logging
import time

import redis
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from ingest.queueing import ROUTINE_QUEUE, URGENT_QUEUE
from workers.broker import ACKS_QUEUE, PAGES_QUEUE
from workers.store.schema import ParkedRow

log = logging.getLogger("guichet.metrics")
QUEUES = (URGENT_QUEUE, ROUTINE_QUEUE, ACKS_QUEUE, PAGES_QUEUE)
NAMESPACE = "dramatiq"  # the Redis broker's key prefix (its default, which guichet keeps)


def queue_keys(queue: str) -> dict[str, str]:
    """The broker's keys for one queue: waiting ids (list, oldest first), every message
    not acknowledged yet (hash), the delayed queue (list + hash), the dead letters (zset)."""
    base = f"{NAMESPACE}:{queue}"
    return {
        "waiting": base,
        "messages": f"{base}.msgs",
        "delayed": f"{base}.DQ.msgs",
        "dead": f"{base}.XQ",
    }


def read_queues(client: redis.Redis, now_ms: int) -> dict[str, dict]:
    """Per queue: waiting, in_progress, delayed, dead, and the oldest waiting message's age."""
    with client.pipeline(transaction=False) as pipe:
        for queue in QUEUES:
            keys = queue_keys(queue)
            pipe.llen(keys["waiting"]).lindex(keys["waiting"], 0).hlen(keys["messages"])
            pipe.hlen(keys["delayed"]).zcard(keys["dead"])
        replies = pipe.execute()
    found, heads = {}, {}
    for i, queue in enumerate(QUEUES):
        waiting, head, stored, delayed, dead = replies[i * 5 : i * 5 + 5]
        found[queue] = {
            "waiting": waiting,
            "in_progress": max(0, stored - waiting),
            "delayed": delayed,
            "dead": dead,
            "oldest_age": 0.0,
        }
        if head is not None:
            heads[queue] = head
    if heads:
        with client.pipeline(transaction=False) as pipe:
            for queue, head in heads.items():
                pipe.hget(queue_keys(queue)["messages"], head)
            for queue, data in zip(heads, pipe.execute(), strict=True):
                found[queue]["oldest_age"] = _age(data, now_ms)
    return found


def _age(data: bytes | None, now_ms: int) -> float:
    """Seconds since the message was enqueued (0 when it is gone or unreadable)."""
    try:
        stamp = json.loads(data)["message_timestamp"]
    except (TypeError, ValueError, KeyError):
        return 0.0
    return max(0.0, (now_ms - int(stamp)) / 1000)


class QueueCollector(Collector):
    """Queue depths, oldest-message ages and parked messages, read when Prometheus scrapes."""

    def __init__(self, broker_url: str, sessions: sessionmaker | None = None, timeout=1.0):
        self.client = redis.Redis.from_url(
            broker_url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self.sessions = sessions

    def collect(self):
        yield from self._queues()
        if self.sessions is not None:
            yield from self._parked()

    def _queues(self):
        up = GaugeMetricFamily("guichet_queue_up", "1 when the queues could be read from Redis")
        try:
            found = read_queues(self.client, int(time.time() * 1000))
        except redis.RedisError as error:
            log.warning("queue metrics unavailable: %s", type(error).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        depth = GaugeMetricFamily(
            "guichet_queue_messages",
            "Messages on each queue: waiting, in_progress, delayed (not due yet), dead (rejected)",
            labels=["queue", "state"],
        )
        age = GaugeMetricFamily(
            "guichet_queue_oldest_age_seconds",
            "Age of the oldest message waiting on each queue (0 when none waits)",
            labels=["queue"],
        )
        for queue, values in found.items():
            for state in ("waiting", "in_progress", "delayed", "dead"):
                depth.add_metric([queue, state], values[state])
            age.add_metric([queue], values["oldest_age"])
        yield from (up, depth, age)

    def _parked(self):
        try:
            with self.sessions() as session:
                count = session.scalar(
                    select(func.count(ParkedRow.id)).where(ParkedRow.status == "parked")
                )
        except Exception as error:  # noqa: BLE001 - a scrape must not fail on the store
            log.warning("parked-messages metric unavailable: %s", type(error).__name__)
            return
        gauge = GaugeMetricFamily(
            "guichet_parked_messages", "Messages parked and not replayed yet (guichet parked)"
        )
        gauge.add_metric([], count)
        yield gauge
