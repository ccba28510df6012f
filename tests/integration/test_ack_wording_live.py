"""Acknowledgement wording and headers read off a real SMTP sink: the team alerted, "you asked for
urgent handling" only when asked, webhook acknowledgements, the confirmation after identification."""

from __future__ import annotations

import email
import email.policy
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from ingest.edges.webhook.limits import WebhookSettings
from tests.support.mail import customer_mail, send
from tests.support.stack import Stack, stack_settings
from tests.support.web import PartnerClient, WebApp, request_payload

pytestmark = pytest.mark.integration
PARIS = ZoneInfo("Europe/Paris")
TUESDAY_10H = datetime(2030, 12, 3, 10, 0, tzinfo=PARIS)
TUESDAY_22H = datetime(2030, 12, 3, 22, 0, tzinfo=PARIS)
OUR_MX = "mx.dri.example"  # the authserv-id of our own MTA's Authentication-Results
# What our MTA writes on mail from a personal mailbox its provider signs: DKIM aligned with From.
SIGNED_BY_GMAIL = f"{OUR_MX}; dkim=pass header.d=gmail.com; spf=pass smtp.mailfrom=gmail.com"


@pytest.fixture
def at(tmp_path, redis_url, sink):
    """Start the stack with its clock stopped at a given moment: `at(moment)`."""
    stacks = []

    def start(moment: datetime) -> Stack:
        settings = stack_settings(
            tmp_path / "home",
            f"sqlite:///{tmp_path / 'db.sqlite3'}",
            redis_url,
            sink.address,
            trusted_authserv_ids=[OUR_MX],
        )
        stacks.append(Stack(settings, clock=lambda: moment).start())
        return stacks[-1]

    yield start
    for stack in stacks:
        stack.stop()


def delivered(sink, count: int) -> list[email.message.EmailMessage]:
    found = sink.handler.wait_for(count, timeout=90)
    time.sleep(1)  # nothing more must arrive
    assert len(sink.handler.messages) == count
    return [email.message_from_bytes(m["data"], policy=email.policy.default) for m in found]


def text_of(ack) -> str:
    return " ".join(ack.get_body(("plain",)).get_content().split())


def urgent_from_ouest_medias(language: str):
    if language == "fr":
        subject, body = (
            "Serveur de production en panne",
            "Bonjour,\n\nNotre serveur de production est en panne, c'est urgent.\n\nThomas Guillou\nClient 42118\n",
        )
    else:
        subject, body = (
            "Production server down",
            "Hello,\n\nOur production server is down, this is urgent.\n\nThomas Guillou\nCustomer ID 42118\n",
        )
    return customer_mail(
        sender="thomas.guillou@ouest-medias.fr", name="Thomas Guillou", subject=subject, body=body
    )


@pytest.mark.parametrize(
    ("moment", "language", "said", "not_said"),
    [
        (TUESDAY_10H, "fr", "L'équipe support a été alertée", "astreinte a été alertée"),
        (TUESDAY_22H, "fr", "L'équipe d'astreinte a été alertée", "équipe support a été alertée"),
        (TUESDAY_10H, "en", "The support team was alerted", "on-call team was alerted"),
        (TUESDAY_22H, "en", "The on-call team was alerted", "support team was alerted"),
    ],
    ids=["tuesday-10h-fr", "tuesday-22h-fr", "tuesday-10h-en", "tuesday-22h-en"],
)
def test_an_urgent_acknowledgement_names_the_team_actually_alerted(
    at, sink, moment, language, said, not_said
):
    stack = at(moment)
    assert send(stack.smtp_address, urgent_from_ouest_medias(language))[0] == 250
    [ack] = delivered(sink, 1)
    assert ack["Content-Language"] == language
    assert said in text_of(ack) and not_said not in text_of(ack)
    zone = "(heure de Paris)" if language == "fr" else "(Paris time)"
    assert zone in text_of(ack)


def test_a_blocked_mailbox_on_shared_hosting_is_not_told_it_asked_for_urgent_handling(at, sink):
    stack = at(TUESDAY_10H)
    mail = customer_mail(
        sender="maelle@legoff-boulangerie.fr",
        name="Maëlle Le Goff",
        subject="Messagerie bloquée",
        body="Bonjour,\n\nMessagerie bloquée depuis ce matin : erreur 550 à chaque envoi.\n\nMaëlle Le Goff\nClient 10234\n",
    )
    assert send(stack.smtp_address, mail)[0] == 250
    [ack] = delivered(sink, 1)
    [ticket] = stack.tickets()
    assert ticket["urgent_requested"] is True and ticket["urgency"] == "routine"
    assert "Vous avez demandé un traitement urgent" not in text_of(ack)
    assert "Vous nous signalez un incident bloquant" in text_of(ack)


def test_an_urgent_mail_on_shared_hosting_is_told_it_asked_for_urgent_handling(at, sink):
    stack = at(TUESDAY_10H)
    mail = customer_mail(
        sender="maelle@legoff-boulangerie.fr",
        name="Maëlle Le Goff",
        subject="URGENT messagerie bloquée",
        body="Bonjour,\n\nC'est urgent : la messagerie est bloquée depuis ce matin.\n\nMaëlle Le Goff\nClient 10234\n",
    )
    assert send(stack.smtp_address, mail)[0] == 250
    [ack] = delivered(sink, 1)
    assert "Vous avez demandé un traitement urgent" in text_of(ack)


@pytest.fixture
def reseller(stack):
    app = WebApp(stack.settings, WebhookSettings(partner_cache=0)).start()
    secret = app.partners().add("reseller", ["20481", "42118"])
    yield PartnerClient(app.url, "reseller", secret)
    app.stop()


@pytest.mark.parametrize("language", ["fr", "en"])
def test_a_webhook_acknowledgement_refers_to_the_partners_reference_and_answers_no_mail(
    stack, sink, reseller, language
):
    payload = request_payload(language=language, external_reference="RES-2291")
    assert reseller.request(payload).status_code == 202
    [ack] = delivered(sink, 1)
    assert "Re:" not in ack["Subject"] and "RES-2291" in ack["Subject"]
    assert ack["In-Reply-To"] is None and ack["References"] is None
    assert "RES-2291" in text_of(ack)
    assert "guichet.invalid" not in ack.as_string()


def test_a_customer_identified_by_a_later_reply_gets_one_short_confirmation(at, sink):
    stack = at(TUESDAY_22H)
    anonymous = customer_mail(
        sender="jfh.perso@gmail.com",
        name="",
        subject="Serveur dédié injoignable",
        body="Bonjour,\n\nNotre serveur dédié ne répond plus depuis 21 h, c'est urgent.\n",
    )
    assert send(stack.smtp_address, anonymous)[0] == 250
    [first] = delivered(sink, 1)
    assert "numéro de client" in text_of(first)
    reply = customer_mail(
        sender="jfh.perso@gmail.com",
        name="",
        subject="Re: " + first["Subject"],
        body="Voici mes informations.\n\nNom : Jean-François Hervé\nClient 20481\n",
        # Authenticated: a confirmation that names the account goes only to a trusted sender
        # (the same reply unauthenticated: tests/integration/test_trust_boundary.py).
        headers={"In-Reply-To": first["Message-ID"], "Authentication-Results": SIGNED_BY_GMAIL},
    )
    assert send(stack.smtp_address, reply)[0] == 250
    _, confirmation = delivered(sink, 2)
    [ticket] = stack.tickets()
    assert ticket["number"] == int(first["Subject"].split("#")[1].split("]")[0])
    assert f"#{ticket['number']}" in confirmation["Subject"]
    assert confirmation["In-Reply-To"] == reply["Message-ID"]
    text = text_of(confirmation)
    assert "désormais identifiée" in text and "20481" in text
    assert "L'équipe d'astreinte a été alertée dès réception de votre réponse" in text
    assert "numéro de client (5 chiffres" not in text
    detail = stack.ticket(ticket["number"])
    assert (detail["urgency"], detail["authorised"]) == ("urgent", True)
    assert len(detail["pages"]) == 1
    again = customer_mail(
        sender="jfh.perso@gmail.com",
        name="",
        subject="Re: " + first["Subject"],
        body="Je confirme : Jean-François Hervé, client 20481.\n",
        headers={"In-Reply-To": first["Message-ID"]},
    )
    assert send(stack.smtp_address, again)[0] == 250
    stack.settle()
    assert len(delivered(sink, 2)) == 2  # once
