"""`guichet run` as a real process tree: SMTP sessions and signed webhook POSTs end to end, then a
scrape of /metrics over HTTP shows every counter moved by exactly what was sent."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from ingest.config_files import config_dir
from tests.support.mail import customer_mail, send
from tests.support.processes import Role, smtp_listener, wait_smtp
from tests.support.services import free_port
from tests.support.stack import Stack, stack_settings
from tests.support.web import PartnerClient, request_payload
from workers.store.directory import read_csv, store_accounts
from workers.store.engine import session_factory
from workers.store.migrate import upgrade
from workers.store.partners import SqlPartners, secret_box
from workers.store.schema import AckRow

pytestmark = pytest.mark.integration


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics, keyed by (name, sorted labels)."""
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: dict, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)


@pytest.fixture
def tree(tmp_path, database_url, redis_url, sink):
    """The directory and a partner in the store, then `guichet run` (workers, SMTP, web) on them."""
    settings = stack_settings(tmp_path / "home", database_url, redis_url, sink.address)
    upgrade(settings.database)
    accounts, problems = read_csv(config_dir() / "directory-demo.csv")
    assert not problems
    with session_factory(settings.database).begin() as session:
        store_accounts(session, accounts.values())
    partners = SqlPartners(session_factory(settings.database), secret_box(settings.home))
    secret = partners.add("reseller", ["20481", "10234"])
    role = Role("run", settings, tmp_path / "logs").start()
    url = f"http://{settings.http_listen}"
    deadline = time.monotonic() + 60
    while True:
        assert role.alive(), role.log()[-3000:]
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, role.log()[-3000:]
        time.sleep(0.2)
    wait_smtp(role, settings, timeout=max(1.0, deadline - time.monotonic()))  # its own role
    yield settings, url, PartnerClient(url, "reseller", secret), role
    assert role.stop() == 0, role.log()[-3000:]


def wait_for(url: str, name: str, wanted: float, timeout: float = 30) -> dict:
    """Scrape until `name` (summed over its labels) reaches `wanted`: the last count of a
    worker follows its commit by a moment."""
    deadline = time.monotonic() + timeout
    samples = scrape(url)
    while total(samples, name) < wanted and time.monotonic() < deadline:
        time.sleep(0.2)
        samples = scrape(url)
    return samples


def test_a_scrape_after_real_traffic_counts_exactly_what_was_sent(tree, sink):
    settings, url, partner, role = tree
    before = scrape(url)
    assert total(before, "guichet_intakes_total") == 0  # a fresh tree: nothing counted yet
    smtp = Stack(settings).smtp_address

    # SMTP: three mails accepted (one of them a machine's, never acknowledged), one refused.
    assert send(smtp, customer_mail(subject="Question DNS"))[0] == 250
    yann = customer_mail(
        sender="yann@legoff-boulangerie.fr",
        name="Yann Le Goff",
        subject="Boîte mail pleine",
        body="Bonjour,\n\nMa boîte est pleine.\n\nYann Le Goff\nClient 10234\n",
    )
    assert send(smtp, yann)[0] == 250
    robot = customer_mail(
        subject="Rapport de sauvegarde", headers={"Auto-Submitted": "auto-generated"}
    )
    assert send(smtp, robot)[0] == 250
    assert send(smtp, customer_mail(to="nobody@dri.example"))[0] == 550

    # Webhooks: two accepted, one repeated (same webhook-id), one with a wrong signature.
    first = request_payload(external_reference="m-1")
    body = json.dumps(first).encode()
    msg_id = f"msg_{uuid.uuid4().hex}"
    assert partner.request(body, msg_id=msg_id).status_code == 202
    assert partner.request(body, msg_id=msg_id).status_code == 202  # the first answer, replayed
    second = request_payload(
        external_reference="m-2",
        contact_name="Sophie Kerbrat",
        contact_email="s.kerbrat@armor-logistique.fr",
        subject="Certificat expiré",
    )
    assert partner.request(second).status_code == 202
    wrong = "whsec_" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE="
    assert (
        partner.request(request_payload(external_reference="m-3"), secret=wrong).status_code == 401
    )

    Stack(settings).settle()
    after = wait_for(url, "guichet_acks_sent_total", 4)
    with session_factory(settings.database)() as session:
        skipped = session.scalars(
            select(AckRow.skip_reason).where(AckRow.status == "skipped")
        ).all()
    assert len(skipped) == 1 and skipped[0]

    assert value(after, "guichet_intakes_total", channel="smtp", outcome="accepted") == 3
    assert value(after, "guichet_intakes_total", channel="smtp", outcome="refused") == 1
    assert value(after, "guichet_intakes_total", channel="webhook", outcome="accepted") == 2
    assert value(after, "guichet_intakes_total", channel="webhook", outcome="duplicate") == 1
    assert value(after, "guichet_intakes_total", channel="webhook", outcome="refused") == 1
    assert total(after, "guichet_intakes_total") == 8
    assert value(after, "guichet_smtp_replies_total", command="RCPT", code="550") == 1
    assert value(after, "guichet_smtp_replies_total", command="DATA", code="250") == 3
    assert (
        value(after, "guichet_webhook_signature_failures_total", reason="no-matching-signature")
        == 1
    )
    assert value(after, "guichet_identity_outcomes_total", outcome="verified") == 5
    assert total(after, "guichet_identity_outcomes_total") == 5
    assert value(after, "guichet_urgency_outcomes_total", outcome="routine") == 5
    assert total(after, "guichet_sender_trust_total") == 5  # whatever trust each sender has
    assert value(after, "guichet_sender_trust_total", trust="other") == 0

    assert value(after, "guichet_tickets_filed_total", outcome="created") == 5
    assert value(after, "guichet_ticket_filing_latency_seconds_count") == 5
    assert value(after, "guichet_acks_sent_total") == 4
    assert value(after, "guichet_ack_latency_seconds_count") == 4
    assert value(after, "guichet_acks_skipped_total", reason=skipped[0]) == 1
    assert total(after, "guichet_acks_skipped_total") == 1
    assert total(after, "guichet_ack_failures_total") == 0
    assert value(after, "guichet_worker_messages_total", actor="create_ticket", outcome="done") == 5
    failed = sum(
        v
        for (name, labels), v in after.items()
        if name == "guichet_worker_messages_total" and ("outcome", "failed") in labels
    )
    assert failed == 0  # no message of any actor failed (and none is still in a worker's hands)
    assert len(sink.handler.messages) == 4

    assert value(after, "guichet_queue_up") == 1
    for queue in ("tickets.urgent", "tickets.routine", "acks", "pages"):
        for state in ("waiting", "in_progress", "delayed", "dead"):
            assert value(after, "guichet_queue_messages", queue=queue, state=state) == 0
        assert value(after, "guichet_queue_oldest_age_seconds", queue=queue) == 0
    assert value(after, "guichet_parked_messages") == 0
    assert total(after, "guichet_worker_messages_in_progress") == 0


def test_guichet_smtp_run_alone_serves_its_own_counts_on_its_metrics_port(
    tmp_path, redis_url, sink
):
    settings = stack_settings(
        tmp_path / "home", f"sqlite:///{tmp_path / 'db.sqlite3'}", redis_url, sink.address
    )
    upgrade(settings.database)
    port = free_port()
    listener = smtp_listener(
        settings, tmp_path / "logs", env={"GUICHET_METRICS_LISTEN": f"127.0.0.1:{port}"}
    )
    try:
        assert send(Stack(settings).smtp_address, customer_mail())[0] == 250
        assert send(Stack(settings).smtp_address, customer_mail(to="x@dri.example"))[0] == 550
        samples = scrape(f"http://127.0.0.1:{port}")
    finally:
        assert listener.stop() == 0
    assert value(samples, "guichet_intakes_total", channel="smtp", outcome="accepted") == 1
    assert value(samples, "guichet_intakes_total", channel="smtp", outcome="refused") == 1
    assert value(samples, "guichet_smtp_replies_total", command="DATA", code="250") == 1
    assert total(samples, "guichet_identity_outcomes_total") == 1
    assert total(samples, "process_resident_memory_bytes") > 0  # one process: its own metrics
