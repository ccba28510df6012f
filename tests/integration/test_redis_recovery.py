"""A Redis that comes back without some messages (a restart from an older append-only file, a
failover to a replica that had not received them): the recovery re-enqueues exactly what no
queue holds any more, once per server life, and the work then completes."""

from __future__ import annotations

import pytest

from ingest.queueing import redis_broker
from tests.support.mail import customer_mail, send
from tests.support.stack import Stack, stack_settings
from workers import recovery
from workers.running.runtime import Runtime

pytestmark = pytest.mark.integration


@pytest.fixture
def idle_stack(tmp_path, database_url, redis_url, sink):
    # Sweeps far apart: only the recovery can put the lost message back.
    settings = stack_settings(
        tmp_path / "home",
        database_url,
        redis_url,
        sink.address,
        sweep_interval=3600.0,
        sweep_grace=3600.0,
    )
    running = Stack(settings).start(workers=False)
    yield running
    running.stop()


def test_what_redis_lost_is_re_enqueued_once_per_server_life_and_filed(idle_stack, redis_server):
    lost, kept = customer_mail(subject="Zone DNS"), customer_mail(subject="Certificat expiré")
    assert send(idle_stack.smtp_address, lost)[0] == 250
    client = redis_server.client()
    client.flushall()  # the server came back without the first mail's message
    assert send(idle_stack.smtp_address, kept)[0] == 250
    broker = redis_broker(idle_stack.settings.broker_url)
    queued = recovery.queued_ids(client)
    assert len(queued["create_ticket"]) == 1

    rt = Runtime(idle_stack.settings)
    assert recovery.recover(rt, broker, client, "life-2") == 1  # only the one lost
    assert len(recovery.queued_ids(client)["create_ticket"]) == 2
    assert recovery.recover(rt, broker, client, "life-2") == 0  # done once per server life
    assert recovery.recover(rt, broker, client, "life-3") == 0  # nothing lost since

    idle_stack.start_workers()
    tickets = idle_stack.wait_tickets(2)
    assert sorted(t["subject"] for t in tickets) == ["Certificat expiré", "Zone DNS"]
    idle_stack.settle()
    assert {
        a["status"] for t in tickets for a in idle_stack.ticket(t["number"])["acknowledgements"]
    } == {"sent"}


def test_a_delayed_message_a_worker_fetched_and_forgot_counts_as_lost(redis_url, redis_server):
    # A delay-queue consumer keeps what it fetched in memory until it is due; when its
    # connection drops it forgets it, while Redis keeps it "in hand" as long as the worker
    # lives. The recovery must not count such a message as queued (an intake was never filed
    # after two Redis restarts because it did).
    import dramatiq

    broker = redis_broker(redis_url)
    broker.declare_queue("tickets.routine")
    client = redis_server.client()
    for intake in ("held", "waiting"):
        message = dramatiq.Message("tickets.routine", "create_ticket", (intake,), {}, {})
        broker.enqueue(message, delay=60_000)
    consumer = broker.consume("tickets.routine.DQ", prefetch=1, timeout=100)
    fetched = next(consumer)
    assert fetched is not None  # now in this consumer's hands (its ack set in Redis)
    queued = recovery.queued_ids(client)
    assert queued["create_ticket"] == {"waiting", "held"} - {fetched.args[0]}
    broker.close()
