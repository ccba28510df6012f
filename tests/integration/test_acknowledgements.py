"""Acknowledgements read off a real SMTP sink: the right guidance for the hour, contract and identity."""

from __future__ import annotations

import email
import email.policy
import re
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.support.mail import customer_mail, send
from tests.support.stack import Stack, stack_settings
from workers.escalation.policy import default_policy

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
# Moments far in the future, so that pages they schedule stay scheduled whenever the suite runs.
TUESDAY_10H = datetime(2030, 12, 3, 10, 0, tzinfo=PARIS)
SATURDAY_3H = datetime(2030, 11, 30, 3, 0, tzinfo=PARIS)


def phone(key: str) -> str:
    return next(line.number for line in default_policy().lines if line.key == key)


def run_stack(tmp_path, redis_url, sink, moment, **overrides):
    settings = stack_settings(
        tmp_path / "home",
        f"sqlite:///{tmp_path / 'db.sqlite3'}",
        redis_url,
        sink.address,
        **overrides,
    )
    return Stack(settings, clock=lambda: moment).start()


def acks(sink, count: int, quiet: float = 1.5) -> list[email.message.EmailMessage]:
    sink.handler.wait_for(count)
    time.sleep(quiet)  # nothing more must arrive
    return [
        email.message_from_bytes(m["data"], policy=email.policy.default)
        for m in sink.handler.messages
    ]


def text_of(ack) -> str:
    """The plain-text part with its line breaks as spaces (it is wrapped at 72 columns)."""
    return " ".join(ack.get_body(("plain",)).get_content().split())


def one_ack(tmp_path, redis_url, sink, moment, mail):
    """Send one mail at `moment`; return its acknowledgement, its ticket row and the ticket detail."""
    stack = run_stack(tmp_path, redis_url, sink, moment)
    try:
        assert send(stack.smtp_address, mail)[0] == 250
        [ack] = acks(sink, 1)
        [ticket] = stack.tickets()
        return ack, ticket, stack.ticket(ticket["number"])
    finally:
        stack.stop()


NO_PHONES = ("switchboard", "oncall", "managerial")


def test_a_verified_routine_request_in_french_gets_no_phone_number(tmp_path, redis_url, sink):
    mail = customer_mail(
        sender="maelle@legoff-boulangerie.fr",
        name="Maëlle Le Goff",
        subject="Ajout d'une boîte mail",
        body="Bonjour,\n\nPouvez-vous créer la boîte contact@legoff-boulangerie.fr ?\n\nMaëlle Le Goff\nClient 10234\n",
    )
    ack, _, _ = one_ack(tmp_path, redis_url, sink, TUESDAY_10H, mail)
    body = text_of(ack)
    assert ack["Content-Language"] == "fr" and "Bonjour" in body
    assert default_policy().incidents_url in body
    assert not any(phone(k) in body for k in NO_PHONES)


def test_an_urgent_request_on_a_24_7_contract_at_night_in_english_names_the_night_lines_and_fees(
    tmp_path, redis_url, sink
):
    mail = customer_mail(
        sender="thomas.guillou@ouest-medias.fr",
        name="Thomas Guillou",
        subject="Production server down",
        body="Hello,\n\nOur production server is down since 2am, all our sites are unreachable. This is blocking.\n\nThomas Guillou\nCustomer ID 42118\n",
    )
    ack, ticket, detail = one_ack(tmp_path, redis_url, sink, SATURDAY_3H, mail)
    body = text_of(ack)
    assert ack["Content-Language"] == "en" and ticket["urgency"] == "urgent"
    assert phone("oncall") in body and phone("managerial") in body
    assert phone("switchboard") not in body
    for line in default_policy().lines:
        if line.fee:
            assert re.sub(r"\s", "", line.fee) in re.sub(r"\s", "", body)
    assert "04:00" in body  # 1 h GTI from 03:00 on a 24/7 contract
    assert detail["pages"][0]["due_at"].startswith("2030-11-30T02:00")  # paged at once (UTC)


def test_an_urgent_request_on_a_business_contract_at_night_waits_for_monday_and_names_the_switchboard(
    tmp_path, redis_url, sink
):
    mail = customer_mail(
        sender="loic@transports-jezequel.fr",
        name="Loïc Jézéquel",
        subject="Serveur dédié HS",
        body="Bonjour,\n\nNotre serveur dédié est hors service, plus rien ne fonctionne. C'est bloquant pour nous.\n\nLoïc Jézéquel\nN° client : 81299\n",
    )
    ack, _, detail = one_ack(tmp_path, redis_url, sink, SATURDAY_3H, mail)
    body = text_of(ack)
    assert phone("switchboard") in body and phone("oncall") not in body
    assert "lundi 2 décembre à 08:00 (heure de Paris)" in body  # work starts, page scheduled
    assert "lundi 2 décembre à 12:00 (heure de Paris)" in body  # 4 h GTI in covered hours
    page = detail["pages"][0]
    assert page["due_at"].startswith("2030-12-02T07:00") and page["status"] == "scheduled"


def test_an_urgent_request_without_a_dedicated_service_is_routine_and_says_why(
    tmp_path, redis_url, sink
):
    mail = customer_mail(
        sender="claire@atelier-picard.com",
        name="Claire Picard",
        subject="URGENT site en panne",
        body="Bonjour,\n\nMon site www.atelier-picard.com est en panne depuis ce matin, c'est urgent !\n\nClaire Picard\nclient 55630\n",
    )
    ack, ticket, _ = one_ack(tmp_path, redis_url, sink, TUESDAY_10H, mail)
    body = text_of(ack)
    assert ticket["urgency"] == "routine" and ticket["urgent_requested"] is True
    assert "dédié" in body
    assert not any(phone(k) in body for k in NO_PHONES)


def test_an_unknown_number_and_a_wrong_name_get_the_same_acknowledgement(tmp_path, redis_url, sink):
    stack = run_stack(tmp_path, redis_url, sink, TUESDAY_10H)
    try:
        body = "Hello,\n\nOur web server is down, please help.\n\n{name}\nCustomer ID {number}\n"
        unknown = customer_mail(
            sender="ops@example.net",
            name="Alex Smith",
            subject="Server down",
            body=body.format(name="Alex Smith", number="99999"),
        )
        wrong = customer_mail(
            sender="ops@example.net",
            name="Alex Smith",
            subject="Server down",
            body=body.format(name="Alex Smith", number="42118"),
        )
        assert send(stack.smtp_address, unknown)[0] == 250
        acks(sink, 1, quiet=0)
        assert send(stack.smtp_address, wrong)[0] == 250
        first, second = acks(sink, 2)
    finally:
        stack.stop()
    normalise = lambda ack: re.sub(r"\d{6}", "N", text_of(ack))  # noqa: E731 - ticket numbers differ
    assert normalise(first) == normalise(second)
    assert "Ouest" not in text_of(second) and "Guillou" not in text_of(second)
    assert not any(phone(k) in text_of(second) for k in NO_PHONES)


@pytest.mark.parametrize(
    ("headers", "mail_from"),
    [
        ({"Auto-Submitted": "auto-replied"}, None),
        ({"Precedence": "bulk"}, None),
        ({"List-Id": "<news.example.org>"}, None),
        ({"X-Autoreply": "yes"}, None),
        ({}, ""),  # a bounce: null envelope sender
    ],
    ids=["auto-reply", "bulk", "list", "x-autoreply", "bounce"],
)
def test_automatic_mail_is_ticketed_but_never_answered(
    tmp_path, redis_url, sink, headers, mail_from
):
    stack = run_stack(tmp_path, redis_url, sink, TUESDAY_10H)
    try:
        mail = customer_mail(headers=headers)
        assert send(stack.smtp_address, mail, mail_from=mail_from)[0] == 250
        [ticket] = stack.wait_tickets(1)
        time.sleep(1.5)
        detail = stack.ticket(ticket["number"])
    finally:
        stack.stop()
    assert sink.handler.messages == []
    assert (
        detail["acknowledgements"][0]["status"] == "skipped"
        and detail["acknowledgements"][0]["skip_reason"]
    )


def test_the_acknowledgement_rate_limit_per_sender_holds(tmp_path, redis_url, sink):
    stack = run_stack(
        tmp_path, redis_url, sink, TUESDAY_10H, ack_rate_limit=2, ack_rate_period=3600
    )
    try:
        for n in range(4):
            assert send(stack.smtp_address, customer_mail(subject=f"Question {n}"))[0] == 250
        stack.wait_tickets(4)
        received = acks(sink, 2, quiet=2.5)
        reasons = [
            stack.ticket(t["number"])["acknowledgements"][0]["skip_reason"] for t in stack.tickets()
        ]
    finally:
        stack.stop()
    assert len(received) == 2
    assert reasons.count("rate-limited") == 2


def test_an_urgent_covered_request_pages_the_on_call_team_once_and_the_ticket_shows_it(
    tmp_path, redis_url, sink
):
    last_saturday = datetime(2026, 11, 21, 3, 0, tzinfo=PARIS)  # in the past: the page is due now
    stack = run_stack(
        tmp_path, redis_url, sink, last_saturday, oncall_email="astreinte@dri.example"
    )
    try:
        mail = customer_mail(
            sender="thomas.guillou@ouest-medias.fr",
            name="Thomas Guillou",
            subject="Production server down",
            body="Hello,\n\nOur production server is down, all our sites are unreachable.\n\nThomas Guillou\nCustomer ID 42118\n",
        )
        assert send(stack.smtp_address, mail)[0] == 250
        delivered = acks(sink, 2, quiet=2.5)
        [ticket] = stack.tickets()
        detail = stack.ticket(ticket["number"])
    finally:
        stack.stop()
    recipients = sorted(m["To"].addresses[0].addr_spec for m in delivered)
    assert recipients == ["astreinte@dri.example", "thomas.guillou@ouest-medias.fr"]
    page = next(m for m in delivered if m["To"].addresses[0].addr_spec == "astreinte@dri.example")
    assert str(ticket["number"]) in page["Subject"] and page["Auto-Submitted"] == "auto-generated"
    assert detail["pages"][0]["status"] == "sent"
    # Due now: claimed in the filing's own commit, then sent (no transaction of its own).
    kinds = [event["kind"] for event in detail["trail"]]
    assert kinds.index("page-scheduled") < kinds.index("page-claimed") < kinds.index("paged")
    assert kinds.index("page-claimed") < kinds.index("ack-sent")  # with the filing's lines
