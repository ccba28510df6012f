from ingest.reading.text_split import split_text


def test_a_french_reply_attribution_starts_the_quoted_history():
    split = split_text(
        "Le site est en panne.\n\n"
        "Le lun. 3 mars 2025 à 10:12, Support DRI <support@dri.example> a écrit :\n"
        "> Votre demande est enregistrée.\n"
    )
    assert split.new_text == "Le site est en panne."
    assert "a écrit" in split.quoted and "enregistrée" in split.quoted


def test_a_wrapped_english_attribution_is_history_but_the_line_before_it_is_not():
    split = split_text(
        "Still down.\nOn Mon, Mar 3, 2025 at 10:12 AM John Smith\n<j@x.example> wrote:\n> old"
    )
    assert split.new_text == "Still down."
    assert split.quoted.startswith("On Mon")


def test_an_outlook_header_block_and_everything_below_it_is_history():
    split = split_text(
        "Voir ci-dessous.\n\nDe : Alerte <a@b.example>\nEnvoyé : lundi 3 mars 2025 10:12\n"
        "À : moi\nObjet : CRITICAL disk\nCRITICAL: disk full"
    )
    assert split.new_text == "Voir ci-dessous."
    assert "CRITICAL: disk full" in split.quoted


def test_an_original_message_separator_starts_the_history():
    split = split_text("Hi,\nserver down!\n\n-----Original Message-----\nFrom: x\nSent: y")
    assert split.new_text == "Hi,\nserver down!"
    assert split.quoted.startswith("-----Original Message-----")


def test_forwarded_history_is_kept_apart_from_the_new_text():
    for marker in (
        "---------- Forwarded message ---------",
        "-------- Message transféré --------",
        "Début du message réexpédié :",
    ):
        split = split_text(f"Pour info.\n\n{marker}\nDe : Nagios\nCRITICAL")
        assert split.new_text == "Pour info."
        assert "CRITICAL" in split.forwarded and "CRITICAL" in split.quoted


def test_bottom_posted_text_after_quoted_lines_stays_new_text():
    split = split_text("> ancienne question\n> suite\nMa réponse sous la citation.")
    assert split.new_text == "Ma réponse sous la citation."
    assert split.quoted == "> ancienne question\n> suite"


def test_the_signature_starts_at_the_closing_and_keeps_the_name():
    split = split_text("Bonjour,\nLe site est HS.\n\nCordialement,\nJean Dupont\nResponsable IT")
    assert split.new_text == "Bonjour,\nLe site est HS."
    assert split.signature == "Cordialement,\nJean Dupont\nResponsable IT"


def test_the_dash_dash_space_delimiter_starts_the_signature():
    split = split_text("Server is down.\n-- \nJohn Smith\nACME")
    assert split.new_text == "Server is down."
    assert split.signature.splitlines()[1:] == ["John Smith", "ACME"]


def test_a_mobile_client_line_is_a_signature():
    split = split_text("Le site ne répond plus.\n\nEnvoyé de mon iPhone")
    assert split.new_text == "Le site ne répond plus."
    assert split.signature == "Envoyé de mon iPhone"


def test_a_thank_you_that_opens_a_sentence_is_not_a_signature():
    split = split_text("Merci de regarder rapidement.\nLe site ne répond plus.")
    assert split.signature == ""
    split = split_text("Merci !\nEn fait le site est down depuis ce matin, rien ne marche.")
    assert "down" in split.new_text


def test_an_empty_body_splits_into_empty_parts():
    assert split_text("") == split_text("\n\n")
    assert split_text("").new_text == ""


def test_a_legal_notice_is_set_aside_like_a_signature():
    split = split_text(
        "Bonjour,\nMerci d'ajouter un alias.\n\nJean\n\n"
        "This e-mail and any attachments are confidential. If you are not the intended\n"
        "recipient, please delete it.\n\nPlease consider the environment before printing."
    )
    assert "alias" in split.new_text and "confidential" not in split.new_text
    assert "intended" in split.disclaimer and "environment" in split.disclaimer


def test_a_paragraph_without_notice_words_after_a_notice_stays_the_customers():
    split = split_text("CONFIDENTIEL\n\nLe site est en panne depuis ce matin.")
    assert "en panne" in split.new_text and split.disclaimer == "CONFIDENTIEL"
