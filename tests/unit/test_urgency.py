import pytest
from intake_fixtures import demo_directory, mail

from ingest.model import Content
from ingest.rules.urgency import classify_urgency

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


@pytest.mark.parametrize(
    "text",
    [
        "Voici le journal :\n"
        "Mar 12 10:00:01 mx1 postfix/smtp[1234]: 9C1E: to=<a@b.fr>, relay=none, status=bounced\n"
        "550 5.7.1 Service unavailable; client blocked\n"
        "Notre IP est-elle sur une liste noire ?",
        'Access log:\n1.2.3.4 - - [12/Mar/2025:10:00:01 +0100] "GET / HTTP/1.1" 503 512\n'
        "How do I rotate these logs?",
        "Trace :\njava.lang.IllegalStateException: backend down\n"
        "    at com.shop.Cart.save(Cart.java:42)\nQuelle version de Java conseillez-vous ?",
        "HTTP/1.1 503 Service Unavailable\nServer: nginx\nWhich header should we add?",
    ],
)
def test_pasted_logs_and_technical_output_are_evidence_not_the_customers_words(text):
    assert urgency(text).requested is False


def test_the_customers_own_words_around_a_pasted_log_still_count():
    text = "Le site est en panne depuis 9h.\n2025-03-12 09:00:02 [error] upstream timed out"
    assert urgency(text).requested is True


@pytest.mark.parametrize(
    "text, subject",
    [
        ("Bravo, encore une coupure. Bon, là ça remarche, mais je veux un rapport.", ""),
        ("Bon, depuis c'est rétabli, merci de nous expliquer.", "Encore une panne"),
        ("Our site was down an hour this morning, it's back now. Post-mortem please.", ""),
        ("Le serveur était injoignable vers 14h, c'est revenu tout seul.", "Serveur HS"),
    ],
)
def test_an_incident_that_is_over_is_not_urgent_whatever_the_subject_says(text, subject):
    assert urgency(text, subject).requested is False


def test_an_outage_still_going_on_after_another_one_ended_is_urgent():
    text = "The site went down last night; it's back now but the mail server is still down."
    assert urgency(text).requested is True


@pytest.mark.parametrize(
    "text",
    [
        "What's the procedure if we have an urgent, service-affecting issue at night?",
        "Que faire en cas d'urgence le week-end ?",
        "En cas de panne, qui appeler ?",
        "Si jamais le serveur tombe en panne un dimanche, qui doit-on contacter ?",
        "What happens when our server goes down at night? Who do we call?",
        "In the event of a critical outage, what is the number to call?",
    ],
)
def test_a_question_about_the_urgent_procedure_is_not_an_urgent_request(text):
    assert urgency(text).requested is False


def test_a_real_outage_next_to_a_procedure_question_still_counts():
    text = "The site is down since 9am, what's the procedure if it happens again?"
    assert urgency(text).requested is True


@pytest.mark.parametrize(
    "text",
    [
        "We've lost the last 6 months of subscriber data.",
        "All the tables are empty now after the restore.",
        "Our shop database was wiped by the update.",
        "All our data is gone after the migration.",
        "Nous avons perdu toutes les données de la table clients.",
        "Nos mails ont disparu de la boîte de réception.",
        "30% packet loss on the transit link, VoIP is unusable.",
        "Massive latency and intermittent outages since 22:00.",
        "Perte de paquets importante, la téléphonie est inutilisable.",
        "Coupures intermittentes sur le lien depuis ce matin.",
    ],
)
def test_data_loss_and_a_service_degraded_to_unusable_are_outages(text):
    assert urgency(text).requested is True


def test_data_loss_that_did_not_happen_is_not_an_outage():
    assert urgency("Good news: we haven't lost any data.").requested is False


@pytest.mark.parametrize(
    "text, subject",
    [
        ("Pouvez-vous redémarrer MySQL ?", "Urgent : redémarrage MySQL"),
        ("Il faut ouvrir le port 8443 d'ici 14h.", "URGENT - ouverture de port"),
        ("Merci de renouveler le certificat, urgent svp", "Certificat"),
        ("Changer l'enregistrement A de www, c'est urgent.", "DNS"),
        ("Urgent : un export complet de la base « facturation » avant 18h ?", "Export"),
    ],
)
def test_an_explicit_urgent_on_a_technical_request_is_a_request(text, subject):
    result = urgency(text, subject)
    assert (result.requested, result.level) == (True, "urgent")


@pytest.mark.parametrize(
    "text, subject",
    [
        ("URGENT : merci de renvoyer la facture de mars.", ""),
        ("Could sales send us the pricing for two more servers?", "Urgent: quote"),
    ],
)
def test_an_urgent_billing_or_commercial_question_stays_routine(text, subject):
    assert urgency(text, subject).requested is False


@pytest.mark.parametrize(
    "text, subject",
    [
        (
            "Depuis mon nouveau PC, Outlook ne reçoit plus les mails, il demande "
            "le mot de passe en boucle.",
            "",
        ),
        (
            "Depuis la réinstallation, il redemande le mot de passe à chaque démarrage.",
            "Thunderbird ne reçoit plus rien",
        ),
    ],
)
def test_a_failure_confined_to_one_workstation_is_no_outage(text, subject):
    assert urgency(text, subject).requested is False


def test_a_failure_that_hits_everyone_is_an_outage_even_in_outlook():
    text = "Plus aucun mail sur Outlook depuis ce matin, pour tout le monde."
    assert urgency(text).requested is True


def test_list_or_bulk_mail_never_asks_for_urgent_handling():
    for header in ({"List-Id": "<team.example.org>"}, {"Precedence": "bulk"}):
        result = urgency("our staging server seems down", headers=list(header.items()))
        assert (result.level, result.requested) == ("routine", False)


@pytest.mark.parametrize(
    "text",
    [
        "A developer dropped the production invoices table 15 minutes ago, please restore it",
        "we truncated the orders database by mistake, we need last night's backup",
    ],
)
def test_a_dropped_or_truncated_table_is_data_loss(text):
    assert urgency(text).level == "urgent"
