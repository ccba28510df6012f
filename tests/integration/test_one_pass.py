"""One worker pass per request: the acknowledgement is claimed in the filing's commit and
delivered by the same actor call, with no `send_ack` message through Redis."""

from __future__ import annotations

import collections

import dramatiq
import pytest
from dramatiq.middleware import Middleware
from sqlalchemy import select

from tests.support.mail import customer_mail, send
from workers.store.engine import session_factory
from workers.store.schema import AckRow, EventRow

pytestmark = pytest.mark.integration


class Enqueued(Middleware):
    """Counts the messages the workers of this process put on a queue, by actor."""

    def __init__(self):
        self.actors = collections.Counter()

    def after_enqueue(self, broker, message, delay):
        self.actors[message.actor_name] += 1


def test_each_acknowledgement_is_sent_in_the_filing_pass_without_a_send_ack_message(stack, sink):
    enqueued = Enqueued()
    dramatiq.get_broker().add_middleware(enqueued)
    mails = [customer_mail(subject=f"Serveur {n} lent") for n in range(3)]
    for mail in mails:
        assert send(stack.smtp_address, mail)[0] == 250
    sink.handler.wait_for(3)
    stack.settle()
    assert len(sink.handler.messages) == 3
    assert enqueued.actors["send_ack"] == 0
    with session_factory(stack.settings.database)() as session:
        acks = session.execute(select(AckRow.status, AckRow.attempts)).all()
        claims = session.scalars(select(EventRow.kind).where(EventRow.kind == "ack-claimed")).all()
    assert sorted(acks) == [("sent", 1)] * 3
    assert len(claims) == 3


def test_an_acknowledgement_that_cannot_be_built_is_given_back_and_sent_once_by_send_ack(
    stack, sink, monkeypatch
):
    # The build runs after the filing's commit (outside SQLite's write turn). One that fails
    # there gives its claim back (sending -> pending, the attempt uncounted): send_ack builds
    # it again and sends it, once.
    from workers import acknowledge

    real, failures = acknowledge.render_for, []

    def fails_once(*args, **kwargs):
        if not failures:
            failures.append(1)
            raise RuntimeError("template engine hiccup")
        return real(*args, **kwargs)

    monkeypatch.setattr(acknowledge, "render_for", fails_once)
    enqueued = Enqueued()
    dramatiq.get_broker().add_middleware(enqueued)
    assert send(stack.smtp_address, customer_mail(subject="Site en erreur 500"))[0] == 250
    sink.handler.wait_for(1)
    stack.settle()
    assert failures == [1] and len(sink.handler.messages) == 1
    assert enqueued.actors["send_ack"] == 1
    with session_factory(stack.settings.database)() as session:
        acks = session.execute(select(AckRow.status, AckRow.attempts)).all()
        claims = session.scalars(select(EventRow.kind).where(EventRow.kind == "ack-claimed")).all()
    assert acks == [("sent", 1)]  # the given-back claim did not count as an attempt
    assert len(claims) == 2  # the filing's claim, then send_ack's
