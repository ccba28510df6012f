"""Replies join their ticket and nothing else; the same request twice is one ticket and one acknowledgement."""

from __future__ import annotations

import email
import email.policy
import smtplib

import pytest

from tests.support.mail import customer_mail, send

pytestmark = pytest.mark.integration


def settle(stack, timeout: float = 90) -> None:
    stack.settle(timeout)


def first_ack(stack, sink, mail):
    assert send(stack.smtp_address, mail)[0] == 250
    [ticket] = stack.wait_tickets(1)
    [delivery] = sink.handler.wait_for(1)
    return ticket, email.message_from_bytes(delivery["data"], policy=email.policy.default)


def messages_of(stack, number: int) -> list[dict]:
    return stack.ticket(number)["messages"]


def test_a_reply_with_only_the_subject_tag_joins_its_ticket(stack, sink):
    ticket, ack = first_ack(stack, sink, customer_mail())
    reply = customer_mail(subject=f"RE : [ dri  #{ticket['number']} ] suite", body="Suite.\n")
    assert send(stack.smtp_address, reply)[0] == 250
    settle(stack)
    assert len(stack.tickets()) == 1
    assert len(messages_of(stack, ticket["number"])) == 2
    assert len(sink.handler.messages) == 1  # a follow-up is not acknowledged again


def test_a_reply_with_only_in_reply_to_joins_its_ticket(stack, sink):
    ticket, ack = first_ack(stack, sink, customer_mail())
    reply = customer_mail(
        subject="Autre sujet sans étiquette", headers={"In-Reply-To": ack["Message-ID"]}
    )
    assert send(stack.smtp_address, reply)[0] == 250
    settle(stack)
    assert len(stack.tickets()) == 1
    assert len(messages_of(stack, ticket["number"])) == 2


def test_a_reply_naming_the_ticket_anywhere_in_odd_references_joins_it(stack, sink):
    original = customer_mail()
    ticket, ack = first_ack(stack, sink, original)
    ack_id = ack["Message-ID"].strip("<>")
    references = (
        f"References: <unrelated@elsewhere.example> (first, (nested) comment)\r\n"
        f"\t< {ack_id} >,<last@x.example>\r\n"
    ).encode()
    reply = customer_mail(subject="sans étiquette").as_bytes(policy=email.policy.SMTP)
    with smtplib.SMTP(*stack.smtp_address, timeout=30) as smtp:
        smtp.sendmail("jf.herve@armor-logistique.fr", ["support@dri.example"], references + reply)
    # The customer's own first Message-ID in References (a reply to their own sent mail) too.
    own = customer_mail(subject="complément", headers={"References": original["Message-ID"]})
    assert send(stack.smtp_address, own)[0] == 250
    settle(stack)
    assert len(stack.tickets()) == 1
    assert len(messages_of(stack, ticket["number"])) == 3


def test_a_tag_quoting_another_customers_ticket_opens_a_new_ticket_and_records_the_link(
    stack, sink
):
    ticket, _ = first_ack(stack, sink, customer_mail())
    stranger = customer_mail(
        sender="claire@atelier-picard.com",
        name="Claire Picard",
        subject=f"Re: [DRI #{ticket['number']}] j'ai le même problème",
        body="Bonjour,\n\nMême souci chez nous.\n\nClaire Picard\nClient 55630\n",
    )
    assert send(stack.smtp_address, stranger)[0] == 250
    settle(stack)
    tickets = {t["number"]: t for t in stack.tickets()}
    assert len(tickets) == 2
    [other] = [n for n in tickets if n != ticket["number"]]
    assert len(messages_of(stack, ticket["number"])) == 1, "the stranger joined the ticket"
    trail = stack.ticket(other)["trail"]
    refused = [e for e in trail if e["kind"] == "thread-refused"]
    assert refused and refused[0]["detail"]["pointed_at"] == ticket["number"]


def test_a_reply_supplying_the_number_and_name_re_verifies_an_unverified_ticket(stack, sink):
    anonymous = customer_mail(
        sender="jfh.perso@gmail.example",
        name="",
        body="Bonjour,\n\nNotre site ne répond plus.\n",
    )
    ticket, ack = first_ack(stack, sink, anonymous)
    assert ticket["identity_status"] == "unverified" and not ticket["authorised"]
    reply = customer_mail(
        sender="jfh.perso@gmail.example",
        name="",
        subject="Re: " + ack["Subject"],
        body="Voici mes informations.\n\nNom : Jean-François Hervé\nClient 20481\n",
        headers={"In-Reply-To": ack["Message-ID"]},
    )
    assert send(stack.smtp_address, reply)[0] == 250
    settle(stack)
    [after] = stack.tickets()
    assert (after["identity_status"], after["authorised"], after["client_number"]) == (
        "verified",
        True,
        "20481",
    )
    assert any(e["kind"] == "reverified" for e in stack.ticket(after["number"])["trail"])


def test_one_mail_to_and_cc_two_support_addresses_in_one_transaction_is_one_ticket(stack, sink):
    mail = customer_mail(headers={"Cc": "urgent@dri.example"})
    code, _ = send(stack.smtp_address, mail, rcpt=["support@dri.example", "urgent@dri.example"])
    assert code == 250
    settle(stack)
    assert len(stack.tickets()) == 1 and len(sink.handler.messages) == 1


def test_one_mail_split_by_the_sending_relay_into_one_transaction_per_address_is_one_ticket(
    stack, sink
):
    mail = customer_mail(headers={"Cc": "urgent@dri.example"})
    assert send(stack.smtp_address, mail, rcpt=["support@dri.example"])[0] == 250
    assert send(stack.smtp_address, mail, rcpt=["urgent@dri.example"])[0] == 250
    settle(stack)
    assert len(stack.tickets()) == 1 and len(sink.handler.messages) == 1


def test_the_same_bytes_retried_through_another_relay_hop_are_one_ticket_and_one_ack(stack, sink):
    mail = customer_mail()
    assert send(stack.smtp_address, mail)[0] == 250
    raw = mail.as_bytes(policy=email.policy.SMTP)
    retried = b"Received: from mx2.example by mx.dri.example; Thu, 14 Nov 2024\r\n" + raw
    with smtplib.SMTP(*stack.smtp_address, timeout=30) as smtp:
        smtp.sendmail("jf.herve@armor-logistique.fr", ["support@dri.example"], retried)
    settle(stack)
    assert len(stack.tickets()) == 1 and len(sink.handler.messages) == 1


def test_a_reused_message_id_with_different_content_makes_two_tickets(stack, sink):
    first = customer_mail(message_id="<reused@armor-logistique.fr>")
    second = customer_mail(
        message_id="<reused@armor-logistique.fr>",
        subject="Autre demande : quota de la boîte mail",
        body="Bonjour,\n\nLa boîte contact@ est pleine.\n\nJean-François Hervé\nClient 20481\n",
    )
    assert send(stack.smtp_address, first)[0] == 250
    assert send(stack.smtp_address, second)[0] == 250
    settle(stack)
    assert len(stack.tickets()) == 2 and len(sink.handler.messages) == 2
