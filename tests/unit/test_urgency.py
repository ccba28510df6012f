import pytest
from intake_fixtures import demo_directory, mail

from ingest.model import Content
from ingest.urgency import classify_urgency

DEDICATED = demo_directory().account("42118")  # dedicated server + transit
SHARED = demo_directory().account("55630")  # shared hosting only


def urgency(text="", subject="", account=DEDICATED, **fields):
    result, _ = classify_urgency(
        mail(text, subject, **fields), account, urgent_addresses=("urgent@dri.example",)
    )
    return result


@pytest.mark.parametrize(
    "text",
    [
        "URGENT : le site est en panne",
        "serveur hs depuis ce matin",
        "SERVEUR HS",
        "Le site ne répond plus",
        "plus aucun mail depuis 8h, c'est bloquant",
        "nous ne recevons plus rien, ne reçoit plus de mails",
        "erreur 500 sur toutes les pages",
        "The website is down",
        "our server is unreachable, outage since 9am",
        "perte de données sur la base clients",
        "le site est inaccessible",
        "c est bloque, plus rien ne marche",
    ],
)
def test_an_outage_or_an_urgent_request_on_an_eligible_account_is_urgent(text):
    result = urgency(text)
    assert (result.level, result.requested, result.eligible) == ("urgent", True, True)


@pytest.mark.parametrize(
    "text",
    [
        "Ce n'est pas urgent, pouvez-vous ajouter un alias ?",
        "Incident non bloquant : le certificat expire bientôt.",
        "Pas bloquant, mais le formulaire ne marche plus.",
        "Rien d'urgent, quand vous aurez le temps.",
        "Not urgent at all, when you have time.",
        "No rush: the contact form is not working.",
        "Ce n'est pas vraiment urgent.",
        "Le site n'est plus en panne depuis hier soir.",
    ],
)
def test_a_negated_or_unhurried_request_is_routine(text):
    assert urgency(text).requested is False


@pytest.mark.parametrize(
    "text, subject",
    [
        ("Comment configurer un alias ?", "Petite question HS"),
        ("Merci de nous renvoyer la facture au plus vite.", "Facture urgente"),
        ("Where can I download the backup? Can I downgrade PHP?", ""),
        ("Things slow down a bit in the evening.", ""),
        ("La panne d'hier est résolue, merci.", ""),
        ("Everything is fine now, the outage was resolved.", ""),
    ],
)
def test_words_that_are_no_request_for_urgent_handling_do_not_trigger(text, subject):
    assert urgency(text, subject).requested is False


def test_quoted_history_and_the_signature_are_ignored():
    text = (
        "Merci pour la réponse.\n\nCordialement,\nThomas Guillou\nPour toute urgence : 06 00 00 00 00\n\n"
        "Le lun. 3 mars 2025 à 10:12, Nagios a écrit :\n> CRITICAL: site down"
    )
    assert urgency(text).requested is False


def test_a_forwarded_alert_is_not_the_customers_request():
    text = "Pour info.\n\n---------- Forwarded message ---------\nDe : Nagios\nCRITICAL: host DOWN"
    assert urgency(text, subject="TR: CRITICAL host DOWN").requested is False


def test_an_eligible_request_past_the_resolved_words_still_counts_when_it_happens_again():
    text = "La panne de lundi était résolue mais le site est de nouveau inaccessible."
    assert urgency(text).level == "urgent"


def test_an_ineligible_account_gets_routine_with_the_request_recorded():
    result = urgency("Le site est en panne !", account=SHARED)
    assert (result.level, result.requested, result.eligible) == ("routine", True, False)


def test_an_unknown_account_is_never_eligible():
    result = urgency("Server down", account=None)
    assert (result.level, result.requested, result.eligible) == ("routine", True, False)


def test_the_dedicated_urgent_address_is_a_strong_signal():
    result = urgency("Pouvez-vous regarder ?", recipients=["urgent+42118@dri.example"])
    assert result.level == "urgent" and "urgent-address:urgent@dri.example" in result.signals


def test_priority_headers_alone_do_not_make_a_request_urgent():
    result = urgency(
        "Une question sur PHP.", headers=[("X-Priority", "1 (Highest)"), ("Importance", "high")]
    )
    assert result.requested is False and any(
        s.startswith("priority-header") for s in result.signals
    )


@pytest.mark.parametrize(
    "severity, expected",
    [("critical", True), ("P1", True), ("major", True), ("warning", False), ("info", False)],
)
def test_a_partner_declared_severity_decides(severity, expected):
    content = Content("webhook", text="CRITICAL disk full", declared={"severity": severity})
    result, _ = classify_urgency(content, DEDICATED)
    assert result.requested is expected


def test_an_automatic_reply_requests_nothing():
    headers = [("Auto-Submitted", "auto-replied")]
    result = urgency(
        "Absent. En cas d'urgence : le site est en panne ? appelez Paul.", headers=headers
    )
    assert result.requested is False


def test_every_signal_leaves_a_finding():
    content = mail("Serveur HS !")
    _, findings = classify_urgency(content, DEDICATED)
    assert [f.rule for f in findings] == ["outage-words", "urgency"]
