import pytest
from intake_fixtures import demo_directory, mail

from ingest.directory import Contact
from ingest.reading.text_split import split_text
from ingest.rules.contact_name import match_contact, matches


def matched(content, number):
    found, _ = match_contact(content, split_text(content.text), demo_directory().account(number))
    return found


@pytest.mark.parametrize(
    "written",
    [
        "Hélène D'Aubigné",
        "helene d'aubigne",
        "Hélène D’Aubigné",
        "HELENE DAUBIGNE",
        "D'Aubigné Hélène",
        "Mme Hélène D'Aubigné",
        "Madame D'AUBIGNÉ Hélène",
        "H&eacute;l&egrave;ne D&#39;Aubign&eacute;",
    ],
)
def test_a_declared_name_matches_whatever_its_spelling(written):
    assert matches(written, Contact("Hélène D'Aubigné"))


@pytest.mark.parametrize(
    "written", ["Jean François Hervé", "HERVE Jean-Francois", "Hervé, Jean-François"]
)
def test_hyphens_spaces_and_word_order_do_not_matter(written):
    assert matches(written, Contact("Jean-François Hervé"))


@pytest.mark.parametrize("written", ["M. Hervé", "Jean-François", "J-F Hervé", "François Hervé"])
def test_a_partial_name_does_not_match(written):
    assert not matches(written, Contact("Jean-François Hervé"))


def test_an_explicit_name_line_is_a_candidate():
    found = matched(mail("Bonjour,\nNom : Sophie KERBRAT\nLe serveur est HS."), "20481")
    assert found.contact.name == "Sophie Kerbrat" and found.candidate.source == "name-line"


def test_the_signature_gives_the_name_even_with_a_title_and_phone_after_it():
    text = (
        "Le site est HS.\n\nCordialement,\nNolwenn Le Bihan\nResponsable technique\n02 98 00 00 00"
    )
    found = matched(mail(text), "42118")
    assert found.contact.name == "Nolwenn Le Bihan" and found.candidate.source == "signature"


@pytest.mark.parametrize(
    "display", ['"GUILLOU Thomas"', "Guillou, Thomas", "Thomas Guillou (Ouest Médias)"]
)
def test_the_from_display_name_is_a_candidate(display):
    found = matched(mail("Le site est HS.", from_name=display), "42118")
    assert found.contact.name == "Thomas Guillou" and found.candidate.source == "from"


def test_the_local_part_of_the_address_is_not_a_name():
    content = mail("Le site est HS.", from_name="", from_address="thomas.guillou@ouest-medias.fr")
    assert matched(content, "42118") is None


def test_a_contact_of_another_account_does_not_match():
    assert matched(mail("Merci,\nClaire Picard"), "42118") is None


def test_an_unknown_name_does_not_match():
    assert matched(mail("Cordialement,\nSandrine Abgrall"), "81299") is None


def test_without_an_account_nothing_matches_and_the_finding_says_why():
    content = mail("Cordialement,\nThomas Guillou")
    found, findings = match_contact(content, split_text(content.text), None)
    assert found is None and findings[0].rule == "no-account"


def test_a_name_alone_on_a_line_is_a_signature_even_without_a_closing():
    content = mail(
        "Bonjour,\nMerci de rediriger accueil@ vers m.tanguy@.\n\nFrançoise LE ROUX\n"
        "Responsable informatique\nMairie de Plougastel\nCompte 70455\n"
        "Place du Calvaire - 29470 Plougastel\n02 98 40 12 00",
        from_name="Mairie - Informatique",
    )
    found = matched(content, "70455")
    assert found and found.contact.name == "Françoise Le Roux"
    assert found.candidate.source == "name-line-alone"


def test_a_declared_name_inside_a_sentence_is_still_not_a_name_line():
    content = mail("Bonjour,\nJe vous écris de la part de Claire Picard pour le site.\nMerci")
    assert matched(content, "55630") is None
