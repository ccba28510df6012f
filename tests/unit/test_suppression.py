import pytest
from intake_fixtures import mail

from ingest.model import Content
from ingest.rules.suppression import plain_address, suppress

OWN = ("support@dri.example", "urgent@dri.example")


def reason(**fields):
    result, _ = suppress(mail("texte", **fields), own_addresses=OWN)
    assert result.acknowledge is (result.skip_reason is None)
    return result.skip_reason


def test_an_ordinary_customer_mail_is_acknowledged():
    assert reason(from_address="client@example.org") is None


@pytest.mark.parametrize(
    "value, expected",
    [("auto-replied", "auto-submitted"), ("auto-generated", "auto-submitted"), ("no", None)],
)
def test_auto_submitted_other_than_no_is_never_acknowledged(value, expected):
    assert reason(headers=[("Auto-Submitted", value)]) == expected


@pytest.mark.parametrize("value", ["bulk", "junk", "auto_reply"])
def test_bulk_and_junk_precedence_are_never_acknowledged(value):
    assert reason(headers=[("Precedence", value)]) == "precedence-bulk"


@pytest.mark.parametrize(
    "headers",
    [
        [("List-Id", "<x.lists.example>")],
        [("Precedence", "list")],
        [("List-Unsubscribe", "<mailto:u@x>")],
    ],
)
def test_list_mail_is_never_acknowledged(headers):
    assert reason(headers=headers) == "list-mail"


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Autoreply", "yes")],
        [("X-Autorespond", "1")],
        [("X-Auto-Response-Suppress", "DR, OOF, AutoReply")],
        [("X-Loop", "helpdesk@client.example")],
        [("X-Mailer", "Vacation autoresponder 2.1")],
    ],
)
def test_autoresponder_marks_are_never_acknowledged(headers):
    assert reason(headers=headers) == "autoresponder-header"


@pytest.mark.parametrize(
    "subject",
    [
        "Réponse automatique : Re: site",
        "Absence du bureau",
        "Out of Office: x",
        "Automatic reply: x",
        "AUTO: away",
    ],
)
def test_out_of_office_subjects_are_never_acknowledged(subject):
    assert reason(subject=subject) == "out-of-office"


def test_a_customer_subject_mentioning_absence_later_is_acknowledged():
    assert reason(subject="Question sur les messages d'absence") is None


@pytest.mark.parametrize(
    "fields",
    [
        {"envelope_sender": ""},
        {"from_address": "mailer-daemon@mx.example.org"},
        {"from_address": "postmaster@example.org"},
        {
            "headers": [
                ("Content-Type", 'multipart/report; report-type="delivery-status"; boundary=x')
            ]
        },
    ],
)
def test_bounces_are_never_acknowledged(fields):
    assert reason(**fields) == "bounce"


def test_a_webhook_without_envelope_sender_is_no_bounce():
    result, _ = suppress(Content("webhook", text="alert"), own_addresses=OWN)
    assert result.acknowledge


@pytest.mark.parametrize("sender", ["support@dri.example", "Support+42118@DRI.example"])
def test_mail_from_our_own_addresses_is_never_acknowledged(sender):
    assert reason(from_address=sender, envelope_sender=sender) == "own-address"


def test_plus_tags_and_case_are_ignored_when_comparing_addresses():
    assert plain_address("<Support+12345@DRI.Example>") == "support@dri.example"


def test_the_finding_names_the_rule_that_fired():
    _, findings = suppress(mail("x", headers=[("Auto-Submitted", "auto-replied")]))
    assert (findings[0].rule, findings[0].value) == ("auto-submitted", False)
