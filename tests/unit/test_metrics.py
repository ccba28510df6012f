"""The metric pieces on their own: counting rules, the after-commit counts, the queue and parked
collector against a real Redis and a real store, the /metrics guard, the multi-process sum."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import dramatiq
import httpx
import pytest
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ingest import metrics as edge
from ingest.intake import intake_time, new_intake_id
from ingest.model import Decision, Identity, Urgency
from ingest.queueing import redis_broker
from ingest.settings import Settings
from workers import metrics as work
from workers.queue_metrics import QueueCollector
from workers.running.exposition import (
    fresh_multiprocess_dir,
    metrics_route,
    process_exited,
    serve_alone,
)
from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.schema import ParkedRow

ROOT = Path(__file__).resolve().parents[2]


def sample(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def collected(collector) -> dict[tuple[str, tuple], float]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    text = generate_latest(registry).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


# Edge counting rules -------------------------------------------------------------------


def test_identity_outcomes_tell_an_unknown_account_from_an_unverified_one():
    assert edge.identity_outcome(Decision(identity=Identity(status="verified"))) == "verified"
    known = Decision(identity=Identity(status="unverified", account_known=True))
    assert edge.identity_outcome(known) == "unverified"
    assert edge.identity_outcome(Decision(identity=Identity(status="unverified"))) == "unknown"


def test_urgency_outcomes_name_an_urgent_request_the_account_may_not_have():
    assert edge.urgency_outcome(Decision(urgency=Urgency(level="urgent"))) == "urgent"
    asked = Decision(urgency=Urgency(level="routine", requested=True, eligible=False))
    assert edge.urgency_outcome(asked) == "ineligible"
    assert edge.urgency_outcome(Decision()) == "routine"


def test_sender_trust_is_counted_once_the_decision_carries_it_and_stays_a_small_label():
    decision = Decision()
    assert edge.sender_trust(decision) == "unknown"  # the default until a rule shows more
    decision.identity.sender_trust = "authenticated"
    assert edge.sender_trust(decision) == "authenticated"
    decision.identity.sender_trust = "jf.herve@armor-logistique.fr"  # never a label value
    assert edge.sender_trust(decision) == "other"


def test_smtp_replies_count_final_lines_and_refusals_of_a_message_only():
    refused = sample("guichet_intakes_total", channel="smtp", outcome="refused")
    throttled = sample("guichet_intakes_total", channel="smtp", outcome="throttled")
    rcpt_550 = sample("guichet_smtp_replies_total", command="RCPT", code="550")
    ehlo = sample("guichet_smtp_replies_total", command="EHLO", code="250")
    edge.smtp_reply("550 5.1.1 <x@y>: no such support address here", "RCPT")
    edge.smtp_reply("452 4.5.3 Too many recipients", "RCPT")
    edge.smtp_reply("500 5.5.2 Error: command not recognized", "other")  # not a message refused
    edge.smtp_reply("250-PIPELINING", "EHLO")  # a continuation line: the last line counts
    edge.smtp_reply("250 HELP", "EHLO")
    assert sample("guichet_smtp_replies_total", command="RCPT", code="550") == rcpt_550 + 1
    assert sample("guichet_smtp_replies_total", command="EHLO", code="250") == ehlo + 1
    assert sample("guichet_intakes_total", channel="smtp", outcome="refused") == refused + 1
    assert sample("guichet_intakes_total", channel="smtp", outcome="throttled") == throttled + 1


def test_webhook_problems_refuse_a_post_but_not_a_status_read_nor_a_503():
    refused = sample("guichet_intakes_total", channel="webhook", outcome="refused")
    throttled = sample("guichet_intakes_total", channel="webhook", outcome="throttled")
    edge.webhook_problem("POST", "invalid-body", 400)
    edge.webhook_problem("POST", "rate-limited", 429)
    edge.webhook_problem("POST", "not-durable", 503)  # the funnel counted it as deferred
    edge.webhook_problem("GET", "not-found", 404)
    assert sample("guichet_intakes_total", channel="webhook", outcome="refused") == refused + 1
    assert sample("guichet_intakes_total", channel="webhook", outcome="throttled") == throttled + 1


def test_the_intake_id_says_when_the_intake_was_accepted():
    before = time.time()
    stamp = intake_time(new_intake_id())
    assert stamp is not None and before - 0.002 <= stamp <= time.time()
    assert intake_time("not-an-intake-id") is None
    assert intake_time("zz" * 16) is None


# After-commit counts -------------------------------------------------------------------


def test_a_count_made_in_a_transaction_applies_on_commit_only(tmp_path):
    sessions = session_factory(f"sqlite:///{tmp_path / 'db.sqlite3'}")
    reason = "unit-test-reason"
    limited = sample("guichet_pages_total", outcome="limited")
    with sessions.begin() as session:
        work.ack_recorded(session, reason)
        work.ack_recorded(session, None)  # recorded to send: not a skip
        work.page_limited(session)
        assert sample("guichet_acks_skipped_total", reason=reason) == 0  # not committed yet
    assert sample("guichet_acks_skipped_total", reason=reason) == 1
    assert sample("guichet_pages_total", outcome="limited") == limited + 1
    with pytest.raises(RuntimeError), sessions.begin() as session:
        work.ack_recorded(session, reason)
        raise RuntimeError("rolled back: a retried filing must not count twice")
    assert sample("guichet_acks_skipped_total", reason=reason) == 1


# Queues and parked messages ------------------------------------------------------------


@pytest.fixture
def queues(redis_server):
    client = redis_server.client()
    client.flushall()
    broker = redis_broker(redis_server.url)
    for queue in ("tickets.urgent", "tickets.routine", "acks", "pages"):
        broker.declare_queue(queue)
    yield broker
    broker.close()


def message(queue: str, age_seconds: float = 0) -> dramatiq.Message:
    stamp = int((time.time() - age_seconds) * 1000)
    return dramatiq.Message(
        queue_name=queue,
        actor_name="create_ticket",
        args=("x",),
        kwargs={},
        options={},
        message_timestamp=stamp,
    )


def test_queue_depths_and_the_oldest_waiting_message_are_read_from_redis(queues, redis_server):
    queues.enqueue(message("tickets.routine", age_seconds=120))
    queues.enqueue(message("tickets.routine"))
    queues.enqueue(message("acks"))
    queues.enqueue(message("pages"), delay=3_600_000)  # due in an hour: delayed, not waiting
    found = collected(QueueCollector(redis_server.url))
    assert found[("guichet_queue_up", ())] == 1
    depth = {
        (dict(labels)["queue"], dict(labels)["state"]): v
        for (name, labels), v in found.items()
        if name == "guichet_queue_messages"
    }
    assert depth[("tickets.routine", "waiting")] == 2
    assert depth[("acks", "waiting")] == 1
    assert depth[("pages", "delayed")] == 1 and depth[("pages", "waiting")] == 0
    assert depth[("tickets.urgent", "waiting")] == 0
    assert sum(v for (_, state), v in depth.items() if state in ("in_progress", "dead")) == 0
    ages = {
        dict(labels)["queue"]: v
        for (name, labels), v in found.items()
        if name == "guichet_queue_oldest_age_seconds"
    }
    assert 120 <= ages["tickets.routine"] < 3600  # the head of the queue: the older message
    assert ages["tickets.urgent"] == 0


def test_an_unreachable_redis_is_a_gauge_at_zero_not_a_failed_scrape():
    found = collected(QueueCollector("redis://127.0.0.1:1/0", timeout=0.2))
    assert found == {("guichet_queue_up", ()): 0}


def test_parked_messages_are_those_not_replayed_yet(tmp_path, redis_server):
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    upgrade(url)
    sessions = session_factory(url)
    with sessions.begin() as session:
        for status in ("parked", "parked", "replayed"):
            session.add(
                ParkedRow(
                    actor="send_ack",
                    queue="acks",
                    args=[1],
                    message_id="m",
                    reason="x",
                    status=status,
                )
            )
    found = collected(QueueCollector(redis_server.url, sessions))
    assert found[("guichet_parked_messages", ())] == 2


# /metrics ------------------------------------------------------------------------------


def test_metrics_answer_loopback_only_unless_a_token_is_set(tmp_path):
    # Starlette's test client is not a loopback address: a remote scraper, for the guard.
    open_app = Starlette(routes=[metrics_route(Settings(home=tmp_path))])
    assert TestClient(open_app).get("/metrics").status_code == 403
    guarded = Starlette(routes=[metrics_route(Settings(home=tmp_path, metrics_token="s3cret"))])
    client = TestClient(guarded)
    assert client.get("/metrics").status_code == 403
    assert client.get("/metrics", headers={"authorization": "Bearer wrong"}).status_code == 403
    response = client.get("/metrics", headers={"authorization": "Bearer s3cret"})
    assert response.status_code == 200
    assert "# TYPE guichet_intakes_total counter" in response.text


CHILD = """
import sys
from ingest import metrics
for _ in range(int(sys.argv[1])):
    metrics.duplicate("replay")
"""

SCRAPER = """
from prometheus_client import generate_latest
from workers.running.exposition import registry
print(generate_latest(registry()).decode())
"""


def test_counts_of_several_processes_are_summed_from_the_shared_folder(tmp_path):
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path), PYTHONPATH=str(ROOT))
    for count in (2, 3):
        subprocess.run([sys.executable, "-c", CHILD, str(count)], env=env, check=True, cwd=ROOT)
    out = subprocess.run(
        [sys.executable, "-c", SCRAPER], env=env, check=True, cwd=ROOT, capture_output=True
    ).stdout.decode()
    values = {
        (s.name, json.dumps(s.labels, sort_keys=True)): s.value
        for family in text_string_to_metric_families(out)
        for s in family.samples
    }
    key = json.dumps({"channel": "replay", "outcome": "duplicate"}, sort_keys=True)
    assert values[("guichet_intakes_total", key)] == 5


def test_a_role_run_alone_serves_its_metrics_on_its_own_loopback_port(tmp_path, redis_server):
    from tests.support.services import free_port

    port = free_port()
    server = serve_alone(Settings(home=tmp_path), port, QueueCollector(redis_server.url))
    try:
        assert server.server_address[0] == "127.0.0.1"
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert "guichet_queue_up 1.0" in text and "# TYPE guichet_acks_sent_total counter" in text
    finally:
        server.shutdown()
        server.server_close()
    assert serve_alone(Settings(home=tmp_path), None) is None  # asked for nothing: no port


def test_worker_messages_are_counted_done_or_failed_and_leave_in_progress():
    middleware = work.MessageMetrics()
    done = sample("guichet_worker_messages_total", actor="send_ack", outcome="done")
    failed = sample("guichet_worker_messages_total", actor="send_ack", outcome="failed")
    busy = sample("guichet_worker_messages_in_progress", actor="send_ack")
    first, second, skipped = (message("acks").copy(actor_name="send_ack") for _ in range(3))
    middleware.before_process_message(None, first)
    middleware.before_process_message(None, second)
    assert sample("guichet_worker_messages_in_progress", actor="send_ack") == busy + 2
    middleware.after_process_message(None, first)
    middleware.after_process_message(None, second, exception=RuntimeError("relay away"))
    middleware.after_skip_message(None, skipped)  # skipped before our hook saw it: no change
    assert sample("guichet_worker_messages_in_progress", actor="send_ack") == busy
    assert sample("guichet_worker_messages_total", actor="send_ack", outcome="done") == done + 1
    assert sample("guichet_worker_messages_total", actor="send_ack", outcome="failed") == failed + 1


BUSY_CHILD = """
import os
from workers import metrics
metrics.IN_PROGRESS.labels("create_ticket").inc()  # then dies without finishing it
print(os.getpid())
"""


def test_a_child_that_died_leaves_the_in_progress_sum_once_the_supervisor_marks_it(tmp_path):
    folder = fresh_multiprocess_dir(tmp_path)
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(folder), PYTHONPATH=str(ROOT))
    run = subprocess.run(
        [sys.executable, "-c", BUSY_CHILD], env=env, check=True, cwd=ROOT, capture_output=True
    )
    pid = int(run.stdout.decode().split()[-1])

    def in_progress() -> float:
        out = subprocess.run(
            [sys.executable, "-c", SCRAPER], env=env, check=True, cwd=ROOT, capture_output=True
        ).stdout.decode()
        return sum(
            s.value
            for family in text_string_to_metric_families(out)
            for s in family.samples
            if s.name == "guichet_worker_messages_in_progress"
        )

    assert in_progress() == 1
    process_exited(tmp_path, pid)
    assert in_progress() == 0
