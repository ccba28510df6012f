from intake_fixtures import demo_directory, mail

from ingest.rules.identity import identify


def identity_of(text, **fields):
    return identify(mail(text, **fields), demo_directory())


def test_a_known_number_and_a_declared_contact_verify_the_request():
    identity, _ = identity_of("Compte 20481, le serveur est HS.\n\nCordialement,\nSophie Kerbrat")
    assert identity.status == "verified"
    assert (identity.client_number, identity.contact_name) == ("20481", "Sophie Kerbrat")
    assert identity.missing == [] and identity.account_known


def test_the_sender_address_declared_on_the_account_is_recorded():
    identity, _ = identity_of(
        "Compte 20481.\nSophie Kerbrat", from_address="s.kerbrat@armor-logistique.fr"
    )
    assert identity.sender_declared


def test_a_number_absent_from_the_directory_is_kept_as_written():
    identity, _ = identity_of("client 99999\nCordialement,\nSophie Kerbrat")
    assert identity.status == "unverified"
    assert identity.client_number == "99999" and not identity.account_known


def test_a_wrong_number_and_a_wrong_name_ask_for_the_same_two_items():
    unknown_number, _ = identity_of("client 99999\nCordialement,\nSophie Kerbrat")
    wrong_name, _ = identity_of("client 20481\nCordialement,\nSandrine Abgrall")
    assert unknown_number.missing == wrong_name.missing == ["client_number", "contact_name"]
    assert unknown_number.contact_name is None and wrong_name.contact_name is None


def test_the_precise_reason_stays_in_the_internal_findings():
    _, findings = identity_of("client 20481\nCordialement,\nSandrine Abgrall")
    assert "no declared contact name matched" in findings[-1].why


def test_no_number_at_all_leaves_the_request_unverified():
    identity, _ = identity_of("Bonjour, le site est HS.\nThomas Guillou")
    assert identity.status == "unverified" and identity.client_number is None
    assert identity.missing == ["client_number", "contact_name"]


def test_a_contact_of_another_account_does_not_verify():
    identity, _ = identity_of("client 42118\nCordialement,\nClaire Picard")
    assert identity.status == "unverified" and identity.account_known


def test_without_any_authentication_result_sender_authenticated_is_unknown():
    identity, _ = identity_of("client 42118\nThomas Guillou")
    assert identity.sender_authenticated is None
    assert identity.auth == {"spf": None, "dkim": None, "dmarc": None}
