import pytest
from intake_fixtures import mail

from ingest.model import Content
from ingest.rules.category import categorize


def category(text, subject=""):
    result, _ = categorize(mail(text, subject))
    return result


@pytest.mark.parametrize(
    "text, service",
    [
        ("Erreur 500 sur le site", "web"),
        ("Our website returns HTTP errors", "web"),
        ("Plus de réception SMTP, IMAP en erreur dans Outlook", "mail"),
        ("La boîte mail de la compta est pleine", "mail"),
        ("Le nom de domaine ne résout plus, zone DNS vide", "dns"),
        ("Changement WHOIS du domaine", "dns"),
        ("La base de données MySQL est corrompue", "database"),
        ("PostgreSQL refuse les connexions", "database"),
    ],
)
def test_services_are_found_from_the_procedures_vocabulary(text, service):
    assert service in category(text).services


def test_a_mail_about_the_mail_itself_is_not_a_mail_issue():
    assert category("Je vous envoie ce mail pour une question sur MySQL.").services == ["database"]


def test_server_names_are_found_in_their_usual_shapes():
    result = category(
        "srv-web01.client.fr et vps1234 sont HS, ns1.example.net aussi, le serveur XYZ également"
    )
    assert result.servers == ["srv-web01.client.fr", "ns1.example.net", "vps1234", "xyz"]


def test_protocol_names_and_plain_words_after_serveur_are_no_server_names():
    assert category("Le serveur est lent en POP3, serveur DNS OK").servers == []


def test_urls_are_found_but_not_our_own_site():
    result = category(
        "Le site https://www.client.fr/boutique et www.autre.fr/page. Voir https://www.dri.fr/infos"
    )
    assert result.urls == ["https://www.client.fr/boutique", "www.autre.fr/page"]


def test_isp_and_connection_are_found():
    result = category("Chez Orange en fibre, et une ligne SDSL Completel en secours")
    assert result.isp == ["Orange", "Completel"]
    assert result.connection == ["SDSL", "Fibre"]


def test_an_ambiguous_isp_name_needs_an_access_word_nearby():
    assert category("Feel free to call us. We love orange juice.").isp == []
    assert category("Notre box Free est en ADSL").isp == ["Free"]


def test_missing_asks_for_the_service_when_none_is_named():
    assert category("Bonjour, ça ne marche pas").missing == ["service"]


def test_missing_asks_for_the_url_of_a_web_problem():
    assert category("Le site affiche une erreur 500").missing == ["url"]
    assert category("Le site https://www.client.fr affiche une erreur 500").missing == []


def test_missing_asks_for_the_server_when_a_dedicated_one_is_implied_but_not_named():
    assert category("Notre serveur dédié ne répond plus en SSH, base MySQL KO").missing == [
        "server"
    ]


def test_a_webhook_declares_its_fields():
    content = Content("webhook", declared={"service": "mail", "server": "mx1.client.fr"})
    result, findings = categorize(content)
    assert result.services == ["mail"] and result.servers == ["mx1.client.fr"]
    assert {f.rule for f in findings} >= {"service", "server", "missing"}
