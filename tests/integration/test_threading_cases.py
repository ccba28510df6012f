"""Every threading case through real SMTP sessions: candidate order, parents filed at the same
moment, colleagues and their out-of-office replies, strangers linked not merged, parallel copies,
a defective header line, titles without reply prefixes."""

from __future__ import annotations

import email
import email.policy
import logging
import smtplib

import pytest
from sqlalchemy import select

from tests.support.mail import customer_mail, send
from tests.support.stack import Stack, busy_settings
from workers import acknowledge, filing
from workers.running.runtime import Runtime
from workers.store.engine import session_factory
from workers.store.schema import IntakeRow

pytestmark = pytest.mark.integration


@pytest.fixture
def idle_stack(tmp_path, database_url, redis_url, sink):
    """The stack with its listener running and its workers not started yet (8 threads when they are)."""
    settings = busy_settings(tmp_path / "home", database_url, redis_url, sink.address)
    running = Stack(settings).start(workers=False)
    yield running
    running.stop()


def ack_of(delivery: dict) -> email.message.EmailMessage:
    return email.message_from_bytes(delivery["data"], policy=email.policy.default)


def opened(stack, sink, mail) -> tuple[dict, email.message.EmailMessage]:
    """Send `mail`, wait for its ticket and acknowledgement."""
    before = len(sink.handler.messages)
    assert send(stack.smtp_address, mail)[0] == 250
    stack.settle()
    deliveries = sink.handler.wait_for(before + 1, timeout=90)
    assert len(deliveries) > before, "no acknowledgement arrived"
    ack = ack_of(deliveries[before])
    number = int(ack["Subject"].split("#")[1].split("]")[0])
    return stack.ticket(number), ack


def numbers(stack) -> set[int]:
    return {t["number"] for t in stack.tickets()}


def intake_ids(stack) -> list[str]:
    with session_factory(stack.settings.database)() as session:
        return list(session.scalars(select(IntakeRow.id).order_by(IntakeRow.received_at)))


def test_in_reply_to_wins_over_an_older_reference_to_another_requesters_ticket(stack, sink):
    claire_first = customer_mail(
        sender="claire@atelier-picard.com",
        name="Claire Picard",
        subject="Certificat expiré",
        body="Bonjour,\n\nLe certificat de notre site a expiré.\n\nClaire Picard\nClient 55630\n",
    )
    claires, _ = opened(stack, sink, claire_first)
    # Jean-François forwards Claire's thread to us: his mail names her message in References.
    jf_first = customer_mail(
        subject="Même souci de certificat",
        headers={"References": claire_first["Message-ID"]},
    )
    jfs, jf_ack = opened(stack, sink, jf_first)
    assert jfs["number"] != claires["number"]
    reply = customer_mail(
        subject="Re: " + jf_ack["Subject"].replace(f"[DRI #{jfs['number']}]", ""),
        body="Bonjour,\n\nVoici la capture demandée.\n\nJean-François Hervé\n",
        headers={
            "In-Reply-To": jf_ack["Message-ID"],
            "References": f"{claire_first['Message-ID']} {jf_first['Message-ID']} {jf_ack['Message-ID']}",
        },
    )
    assert send(stack.smtp_address, reply)[0] == 250
    stack.settle()
    assert numbers(stack) == {claires["number"], jfs["number"]}
    assert len(stack.ticket(jfs["number"])["messages"]) == 2
    assert len(stack.ticket(claires["number"])["messages"]) == 1
    threaded = [e for e in stack.ticket(jfs["number"])["trail"] if e["kind"] == "threaded"]
    assert threaded[0]["detail"]["via"] == "in-reply-to"


def parent_and_reply(n: int) -> tuple[email.message.EmailMessage, email.message.EmailMessage]:
    parent = customer_mail(
        subject=f"Sauvegarde {n} en échec",
        body=f"Bonjour,\n\nLa sauvegarde n°{n} a échoué cette nuit.\n\nJean-François Hervé\nClient 20481\n",
    )
    reply = customer_mail(
        subject=f"Re: Sauvegarde {n} en échec",
        body="Complément : le journal est joint.\n",
        headers={"In-Reply-To": parent["Message-ID"], "References": parent["Message-ID"]},
    )
    return parent, reply


def test_a_reply_filed_at_the_same_moment_as_its_parent_joins_the_parents_ticket(idle_stack, sink):
    pairs = [parent_and_reply(n) for n in range(6)]
    for parent, reply in pairs:  # parent and reply ~ms apart, both queued before any worker runs
        assert send(idle_stack.smtp_address, parent)[0] == 250
        assert send(idle_stack.smtp_address, reply)[0] == 250
    idle_stack.start_workers()  # 8 threads take them together
    idle_stack.settle()
    tickets = idle_stack.tickets()
    assert len(tickets) == len(pairs)
    for ticket in tickets:
        assert len(idle_stack.ticket(ticket["number"])["messages"]) == 2
    assert len(sink.handler.wait_for(len(pairs))) == len(pairs)  # one acknowledgement per parent


def test_a_reply_whose_worker_runs_before_its_parents_still_ends_on_the_parents_ticket(
    idle_stack, sink
):
    parent, reply = parent_and_reply(1)
    assert send(idle_stack.smtp_address, parent)[0] == 250
    assert send(idle_stack.smtp_address, reply)[0] == 250
    parent_id, reply_id = intake_ids(idle_stack)
    runtime = Runtime(idle_stack.settings)
    first = filing.file(runtime, reply_id)  # the reply's worker wins the race
    # The parent's acknowledgement is handed on, not lost: claimed in the filing's commit and
    # delivered by this worker (as `create_ticket` does), or left pending for `send_ack`.
    assert first.ready or first.ack_ids, "the parent's acknowledgement is handed on, not lost"
    for ready in first.ready:
        assert acknowledge.deliver(runtime, ready.ack_id, ready.message, ready.recipient) == "sent"
    idle_stack.start_workers()
    idle_stack.settle()
    [ticket] = idle_stack.tickets()
    messages = idle_stack.ticket(ticket["number"])["messages"]
    assert [m["intake_id"] for m in messages] == [parent_id, reply_id]
    assert len(sink.handler.wait_for(1)) == 1


def test_a_colleague_at_the_same_organisation_joins_the_ticket_without_a_new_acknowledgement(
    stack, sink
):
    ticket, ack = opened(stack, sink, customer_mail())
    colleague = customer_mail(
        sender="stagiaire.it@armor-logistique.fr",
        name="Yann Stagiaire",
        subject="RE: " + ack["Subject"],
        body="Bonjour,\n\nJe complète pour mon collègue : l'erreur est apparue à 9 h.\n",
        headers={"In-Reply-To": ack["Message-ID"]},
    )
    assert send(stack.smtp_address, colleague)[0] == 250
    stack.settle()
    assert numbers(stack) == {ticket["number"]}
    messages = stack.ticket(ticket["number"])["messages"]
    assert [m["sender"] for m in messages][-1] == "stagiaire.it@armor-logistique.fr"
    threaded = [e for e in stack.ticket(ticket["number"])["trail"] if e["kind"] == "threaded"]
    assert threaded[0]["detail"]["sender_is"] == "colleague"
    assert len(sink.handler.messages) == 1


def test_a_colleagues_out_of_office_reply_is_filed_on_the_ticket_and_never_acknowledged(
    stack, sink
):
    original = customer_mail(headers={"Cc": "s.kerbrat@armor-logistique.fr"})
    ticket, _ = opened(stack, sink, original)
    away = customer_mail(
        sender="s.kerbrat@armor-logistique.fr",
        name="Sophie Kerbrat",
        subject="Réponse automatique : " + original["Subject"],
        body="Bonjour,\n\nJe suis absente jusqu'au 14 décembre.\n\nSophie Kerbrat\n",
        headers={
            "In-Reply-To": original["Message-ID"],
            "Auto-Submitted": "auto-replied",
            "X-Auto-Response-Suppress": "All",
        },
    )
    assert send(stack.smtp_address, away)[0] == 250
    stack.settle()
    assert numbers(stack) == {ticket["number"]}
    assert len(stack.ticket(ticket["number"])["messages"]) == 2
    assert len(sink.handler.messages) == 1


def test_a_declared_contact_on_another_domain_joins_a_ticket_opened_from_a_public_mailbox(
    stack, sink
):
    personal = customer_mail(
        sender="jfh.perso@gmail.com",
        name="Jean-François Hervé",
        body="Bonjour,\n\nPouvez-vous regarder la zone DNS ?\n\nJean-François Hervé\nClient 20481\n",
    )
    ticket, ack = opened(stack, sink, personal)
    contact = customer_mail(
        sender="helene.daubigne@armor-logistique.fr",
        name="Hélène D'Aubigné",
        subject="Re: " + ack["Subject"],
        body="Bonjour,\n\nJe prends le relais de Jean-François sur ce sujet.\n",
        headers={"In-Reply-To": ack["Message-ID"]},
    )
    assert send(stack.smtp_address, contact)[0] == 250
    stack.settle()
    assert numbers(stack) == {ticket["number"]}
    threaded = [e for e in stack.ticket(ticket["number"])["trail"] if e["kind"] == "threaded"]
    assert threaded[0]["detail"]["sender_is"] == "declared-contact"


def test_two_strangers_on_one_public_mailbox_provider_are_not_colleagues(stack, sink):
    first = customer_mail(
        sender="marie.dupont@gmail.com",
        name="Marie Dupont",
        subject="Mon site ne s'affiche plus",
        body="Bonjour,\n\nMon site ne s'affiche plus.\n\nMarie Dupont\n",
    )
    ticket, ack = opened(stack, sink, first)
    stranger = customer_mail(
        sender="paul.martin@gmail.com",
        name="Paul Martin",
        subject="Re: " + ack["Subject"],
        body="Bonjour,\n\nPareil pour moi.\n\nPaul Martin\n",
        headers={"In-Reply-To": ack["Message-ID"]},
    )
    assert send(stack.smtp_address, stranger)[0] == 250
    stack.settle()
    assert len(numbers(stack)) == 2
    assert len(stack.ticket(ticket["number"])["messages"]) == 1


def test_an_unrelated_domain_replying_to_another_customers_ticket_gets_its_own_linked_ticket(
    stack, sink
):
    ticket, ack = opened(stack, sink, customer_mail())
    stranger = customer_mail(
        sender="claire@atelier-picard.com",
        name="Claire Picard",
        subject="Re: " + ack["Subject"],
        body="Bonjour,\n\nJ'ai reçu ce message par erreur, mais j'ai le même problème.\n\nClaire Picard\nClient 55630\n",
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )
    assert send(stack.smtp_address, stranger)[0] == 250
    stack.settle()
    [other] = numbers(stack) - {ticket["number"]}
    assert len(stack.ticket(ticket["number"])["messages"]) == 1, "the stranger joined the ticket"
    assert stack.ticket(other)["links"][0] | {"at": None} == {
        "kind": "refers-to",
        "number": ticket["number"],
        "intake_id": stack.ticket(other)["messages"][0]["intake_id"],
        "at": None,
    }
    assert stack.ticket(ticket["number"])["links"][0]["kind"] == "referred-by"
    assert len(sink.handler.wait_for(2)) == 2  # the stranger is acknowledged on their own ticket


def test_copies_filed_in_parallel_make_one_ticket_with_no_error_and_no_retry(
    idle_stack, sink, caplog
):
    mail = customer_mail()
    raw = mail.as_bytes(policy=email.policy.SMTP)
    for hop in range(5):  # the same message through five relay hops, all queued together
        relayed = f"Received: from mx{hop}.example by mx.dri.example\r\n".encode() + raw
        with smtplib.SMTP(*idle_stack.smtp_address, timeout=30) as smtp:
            smtp.sendmail("jf.herve@armor-logistique.fr", ["support@dri.example"], relayed)
    with caplog.at_level(logging.INFO):
        idle_stack.start_workers()
        idle_stack.settle()
    assert len(idle_stack.tickets()) == 1 and len(sink.handler.wait_for(1)) == 1
    with session_factory(idle_stack.settings.database)() as session:
        statuses = sorted(session.scalars(select(IntakeRow.status)))
    assert statuses == ["duplicate"] * 4 + ["ticketed"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in caplog.records if "Retrying" in r.getMessage()]
    assert not [r for r in caplog.records if "actor failed" in r.getMessage()]


def test_a_defective_line_in_the_header_block_keeps_the_headers_after_it(stack, sink):
    mail = customer_mail(subject="Quota de la boîte contact@")
    raw = mail.as_bytes(policy=email.policy.SMTP)
    head, _, rest = raw.partition(b"\r\n")  # the first header line, then the others
    damaged = head + b"\r\nthis line is no header field\r\n" + rest
    with smtplib.SMTP(*stack.smtp_address, timeout=30) as smtp:
        smtp.sendmail("jf.herve@armor-logistique.fr", ["support@dri.example"], damaged)
    stack.settle()
    [ticket] = stack.tickets()
    detail = stack.ticket(ticket["number"])
    assert detail["subject"] == "Quota de la boîte contact@"
    assert detail["messages"][0]["message_id"] == mail["Message-ID"].strip("<>")
    assert any("not a header field" in d for d in detail["messages"][0]["defects"])
    [ack] = [ack_of(d) for d in sink.handler.wait_for(1)]
    assert "(sans objet)" not in ack["Subject"] and "Quota" in ack["Subject"]
    assert ack["In-Reply-To"] == mail["Message-ID"]


@pytest.mark.parametrize(
    "subject",
    [
        "Re: RE: Fwd: Mise à jour PHP",
        "TR: AW: WG: Mise à jour PHP",
        "RE : Réf. : SV: Mise à jour PHP",
        "Re[2]: [Fwd: Mise à jour PHP]",
    ],
)
def test_a_ticket_title_drops_reply_and_forward_prefixes_but_the_message_keeps_its_subject(
    stack, sink, subject
):
    ticket, _ = opened(stack, sink, customer_mail(subject=subject))
    assert ticket["subject"] == "Mise à jour PHP"
    assert ticket["messages"][0]["subject"] == subject
