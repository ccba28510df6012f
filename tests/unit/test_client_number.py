import pytest
from intake_fixtures import demo_directory, mail

from ingest.model import Content
from ingest.rules.client_number import find_client_number


def number_in(text="", subject="", **fields):
    match, _ = find_client_number(mail(text, subject, **fields))
    return match.number if match else None


@pytest.mark.parametrize(
    "text",
    [
        "N° client : 12345",
        "n°client 12345",
        "compte 12345",
        "client #12345",
        "customer ID 12345",
        "account number: 12345",
        "Réf. client 12345",
        "Mon numéro client est le 12 345.",
        "Bonjour,\n12345\nLe site est en panne.",
    ],
)
def test_the_usual_ways_of_writing_the_client_number_are_found(text):
    assert number_in(text) == "12345"


@pytest.mark.parametrize(
    "text",
    [
        "Adresse : 3 rue de Siam\n29200 Brest",
        "ZA de Kergaradec\n35000 Rennes",
        "29200 BREST",
        "Tél : 02 98 12 34 56",
        "mobile +33 6 12 34 56 78",
        "facture 2024-00123",
        "ticket #100042",
        "le 12/03/2025 à 10:12, en 2025",
        "IP 192.168.12.34, port 10443, :8080",
        "un devis de 12 500 € et $10,000",
        "SIRET 123 456 789 00012",
        "voir https://portail.example/tickets/12345",
        "nous avons 15000 mails en attente",
        "commande n° 12345",
        "vps12345.example.net ne répond plus",
    ],
)
def test_a_look_alike_is_never_taken_for_a_client_number(text):
    assert number_in(text) is None


def test_a_postcode_is_never_taken_for_a_client_number():
    text = "Jean Dupont\n12 rue de la Gare\n29200 Brest"
    assert number_in(text) is None


def test_a_number_next_to_a_keyword_wins_over_a_second_five_digit_number():
    assert number_in("Dossier 48213 chez l'intégrateur, N° client : 20481") == "20481"
    assert number_in("client 42118, 29200 Brest") == "42118"


def test_a_ticket_tag_in_the_subject_is_not_the_client_number():
    assert number_in("Toujours en panne", subject="Re: [DRI #10042] Site HS") is None


def test_the_subject_is_searched_as_well_as_the_body():
    match, _ = find_client_number(mail("Le site est HS.", subject="[Client 92577] panne"))
    assert (match.number, match.where) == ("92577", "subject")


def test_a_plus_tag_on_the_support_address_gives_the_number():
    match, _ = find_client_number(mail("hello", recipients=["support+42118@dri.example"]))
    assert (match.number, match.rule) == ("42118", "recipient-tag")


def test_a_declared_webhook_field_comes_first_and_keeps_a_leading_zero():
    content = Content("webhook", text="client 12345", declared={"client_number": 4711})
    match, _ = find_client_number(content)
    assert (match.number, match.rule) == ("04711", "declared-field")


def test_the_new_text_wins_over_quoted_history():
    text = "Mon numéro corrigé : compte 42118\n\nLe 3 mars, X a écrit :\n> client 12345"
    assert number_in(text) == "42118"


def test_quoted_history_is_used_only_when_nothing_else_is_there():
    match, _ = find_client_number(mail("Toujours HS.\n\nLe 3 mars, X a écrit :\n> client 12345"))
    assert (match.number, match.where) == ("12345", "quoted")


def test_among_several_bare_numbers_one_the_directory_knows_is_preferred():
    directory = demo_directory()
    content = mail("codes 11111 et 42118 dans le journal")
    match, _ = find_client_number(content, known=lambda n: directory.account(n) is not None)
    assert match.number == "42118"


def test_a_known_number_is_still_not_picked_when_it_is_a_postcode():
    content = mail("Cabinet X\n1 place de la Mairie\n42118 Saint-Nazaire")
    match, _ = find_client_number(content, known=lambda n: n == "42118")
    assert match is None


def test_every_decision_leaves_a_finding():
    match, findings = find_client_number(mail("Tél 0298123456, facture 2024-00123, compte 20481"))
    assert match.number == "20481"
    assert findings[-1].rule == "keyword" and findings[-1].field == "client_number"
    assert any(f.rule == "part-of-longer-number" for f in findings)


@pytest.mark.parametrize(
    "text",
    [
        "Your invoice INV-70214 shows the wrong amount",
        "[HD-88231] Re: reverse DNS",
        "Référence REF_12345 de votre devis",
        "dossier #A-12345 clos",
        "commande CMD-2024-55123",
        "retour RMA-31907 (colis #B-92577)",
        "pièce 12345-B à remplacer",
    ],
)
def test_the_digits_of_an_alphanumeric_reference_are_no_client_number(text):
    assert number_in(text) is None


@pytest.mark.parametrize(
    "text", ["client#12345", "n°12345", "N°:12345", "compte:12345", "client-12345", "cust_12345"]
)
def test_a_client_keyword_glued_to_the_number_still_counts(text):
    assert number_in(text) == "12345"


def test_a_reference_does_not_hide_the_real_client_number_next_to_it():
    assert number_in("ticket BN-42118, change CHG-2025-63012, customer no. 92577") == "92577"


def test_pids_and_line_numbers_in_pasted_log_lines_are_no_client_number():
    text = (
        "Mar 12 10:00:01 mx1 postfix/smtp[31207]: 9C1E: to=<a@b.fr>, status=bounced\n"
        "Mar 12 10:00:02 mx1 sshd[23456]: Accepted publickey for deploy\n"
    )
    assert number_in(text) is None


@pytest.mark.parametrize(
    "line",
    [
        "Coopérative Maraîchère – 67540 Ostwald",
        "12 rue de la Gare, 29480 Le Relecq-Kerhuon",
        "Atelier Picard\n56100 Lorient",
        "Siège : 22300 Lannion",
    ],
)
def test_a_postcode_before_a_title_case_town_closing_the_line_is_no_client_number(line):
    assert number_in(f"Bonjour,\n\nune question sur nos DNS.\n\nCordialement,\n{line}\n") is None


def test_a_number_before_a_town_still_counts_when_a_keyword_names_it():
    assert number_in("Client 20481 Brest\nnotre site est lent") == "20481"
