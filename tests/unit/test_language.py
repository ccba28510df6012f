import pytest
from intake_fixtures import mail

from ingest.model import Content
from ingest.rules.language import detect_language


def language(text, subject=""):
    return detect_language(mail(text, subject))[0]


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour, le site est en panne depuis ce matin.",
        "SERVEUR HS CLIENT 12345",
        "le serveur est down depuis 8h",
        "bjr, site hs, merci",
        "",
    ],
)
def test_french_text_and_texts_without_markers_are_french(text):
    assert language(text) == "fr"


@pytest.mark.parametrize(
    "text",
    [
        "Hello, our website is down since this morning.",
        "Site down, client 12345",
        "Hi, could you please check the DNS zone? Thanks",
    ],
)
def test_english_text_is_english(text):
    assert language(text) == "en"


def test_an_english_quote_under_french_text_leaves_it_french():
    text = "Le site est toujours HS.\n\nOn Mon, Mar 3, 2025, John wrote:\n> The server is down and we are not able to work at all"
    assert language(text) == "fr"


def test_a_french_acknowledgement_quoted_under_english_text_leaves_it_english():
    text = "Thanks, it is still down for us.\n\nLe lun. 3 mars 2025 à 10:12, Support a écrit :\n> Bonjour, votre demande est enregistrée."
    assert language(text) == "en"


def test_a_declared_language_wins():
    content = Content("webhook", text="Bonjour", declared={"language": "en"})
    assert detect_language(content)[0] == "en"


def test_the_decision_leaves_a_finding():
    _, findings = detect_language(mail("Hello there, the server is down"))
    assert findings[0].rule == "marker-words" and findings[0].value == "en"


def test_an_english_disclaimer_under_short_french_text_leaves_it_french():
    text = (
        "Bonjour,\n\nPouvez-vous ajouter un MX secondaire ?\n\nMerci,\nHugo\n\n"
        "CONFIDENTIALITY NOTICE: This e-mail and any attachments are confidential and may be\n"
        "privileged. If you are not the intended recipient, please notify the sender and\n"
        "delete it. Any unauthorised use, disclosure or copying is strictly prohibited."
    )
    assert language(text) == "fr"


def test_a_french_legal_notice_under_english_text_leaves_it_english():
    text = (
        "Hi,\n\nPlease set the reverse DNS of our new IP.\n\nThanks,\nJames\n\n"
        "Ce message et toutes les pièces jointes sont confidentiels et établis à l'intention\n"
        "exclusive de leurs destinataires. Si vous n'êtes pas le destinataire de ce message,\n"
        "merci de le détruire et d'en avertir immédiatement l'expéditeur."
    )
    assert language(text) == "en"


def test_pasted_english_log_lines_do_not_make_french_text_english():
    text = (
        "Bonjour, voici le journal :\n"
        "Mar 12 10:00:01 mx1 postfix/smtp[1234]: to=<a@b.fr>, status=deferred (connection timed out)\n"
        "2025-03-12 10:00:02 [error] could not connect to the remote host, giving up\n"
        "Merci."
    )
    assert language(text) == "fr"
