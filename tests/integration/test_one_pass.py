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
