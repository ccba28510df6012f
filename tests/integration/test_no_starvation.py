"""Slow mail never starves urgent mail: through the real SMTP listener, real parser processes,
real Redis and workers, with three 400 KB mails built to be slow sent together first."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from tests.support.mail import customer_mail, send
from tests.support.stack import Stack, stack_settings
from workers.store.engine import session_factory
from workers.store.schema import IntakeRow

PARIS = ZoneInfo("Europe/Paris")
KB = 1024


def slow_body(kind: int) -> str:
    """What costs the rules most per byte: a number on every line, a CSV line of numbers, one
    long line of urgent words (each well past the parse budget of this test)."""
    size = 400 * KB
    if kind == 0:
        return "\n".join(f"{10000 + i % 89999:05d}" for i in range(size // 6))
    if kind == 1:
        return ",".join(f"{10000 + i % 89999:05d}" for i in range(size // 6))
    piece = "connection refused urgent bloquant panne serveur down 20481 "
    return piece * (size // len(piece))


def test_an_urgent_mail_from_a_declared_contact_is_decided_paged_and_acknowledged_ahead_of_slow_mail(
    tmp_path, redis_url, sink
):
    saturday_night = datetime(2026, 11, 21, 3, 0, tzinfo=PARIS)  # on-call: paged at once
    settings = stack_settings(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        redis_url,
        sink.address,
        parse_processes=2,
        parse_reserved_processes=1,
        # CPU seconds: each slow mail needs several times this (0.8-1.8 s each on a machine
        # where a customer mail takes 5 ms), twice the second analysis's budget at the least
        parse_timeout=0.25,
        parse_retry_timeout=0.4,
        oncall_email="astreinte@dri.example",
        ack_rate_limit=1000,
        sweep_grace=600,  # the second analyses take a while: no re-enqueue meanwhile
    )
    stack = Stack(settings, clock=lambda: saturday_night).start()
    events: list[str] = []
    try:
        slow = [
            customer_mail(
                sender=f"attacker{n}@example.net", name="", subject="hello", body=slow_body(n)
            )
            for n in range(3)
        ]
        threads = [
            threading.Thread(
                target=lambda m=m: events.append(
                    f"slow {send(stack.smtp_address, m, timeout=600)[0]}"
                )
            )
            for m in slow
        ]
        for thread in threads:
            thread.start()
        time.sleep(0.3)  # the slow mails are in first
        urgent = customer_mail(
            sender="thomas.guillou@ouest-medias.fr",
            name="Thomas Guillou",
            subject="URGENT : serveur de production en panne",
            body="Bonjour,\n\nNotre serveur de production est en panne, tous nos sites sont "
            "inaccessibles.\n\nThomas Guillou\nClient 42118\n",
        )
        events.append(f"urgent {send(stack.smtp_address, urgent, timeout=600)[0]}")
        sink.handler.wait_for(2, timeout=600)  # the acknowledgement and the page
        for thread in threads:
            thread.join(600)
        tickets = stack.wait_tickets(4, timeout=600)
        urgent_ticket = next(t for t in tickets if t["requester"].startswith("thomas"))
        detail = stack.ticket(urgent_ticket["number"])
        final = _slow_statuses(stack)
    finally:
        stack.stop()
    recipients = sorted(m["rcpt_tos"][0] for m in sink.handler.messages[:2])
    assert recipients == ["astreinte@dri.example", "thomas.guillou@ouest-medias.fr"]
    assert detail["urgency"] == "urgent" and detail["identity_status"] == "verified"
    assert detail["pages"] and detail["pages"][0]["status"] == "sent"
    # Sent after them, accepted while the slow mails were still waiting for, or in, a parser.
    assert events.index("urgent 250") < max(i for i, e in enumerate(events) if e.startswith("slow"))
    assert events.count("slow 250") == 3 and final == ["ticketed"] * 3
    reviews = [t["review"] for t in tickets if t["requester"].startswith("attacker")]
    assert all("second analysis" in (review or "") for review in reviews), reviews


def _slow_statuses(stack: Stack) -> list[str]:
    with session_factory(stack.settings.database)() as session:
        rows = session.scalars(
            select(IntakeRow).where(IntakeRow.envelope_sender.like("attacker%"))
        ).all()
        return sorted(row.status for row in rows)
