"""One mail cannot try many names: the bounds of config/vocabulary.toml [contact_name]."""

from __future__ import annotations

from intake_fixtures import demo_directory, mail

from ingest.rules.identity import identify

GIVEN = ("Alain", "Brigitte", "Cédric", "Delphine", "Étienne", "Fanny", "Gilles", "Hélène")
FAMILY = ("Abgrall", "Bihan", "Cornec", "Daniel", "Ezan", "Floch", "Gourmelon", "Hamon")
OTHERS = [f"{g} {f}" for g in GIVEN for f in FAMILY][:59]


def identity_of(text, **fields):
    identity, findings = identify(mail(text, **fields), demo_directory())
    return identity, {f.rule: f.why for f in findings}


def test_one_stated_name_still_verifies():
    identity, _ = identity_of("Client 42118\nNom : Thomas Guillou\n")
    assert identity.status == "verified"


def test_sixty_name_lines_are_unverified_even_with_the_right_name_among_them():
    lines = "\n".join(f"Nom : {n}" for n in OTHERS[:30] + ["Thomas Guillou"] + OTHERS[30:])
    identity, why = identity_of(f"Client 42118\n{lines}\n")
    assert identity.status == "unverified" and identity.contact_name is None
    assert "60 names stated" in why["too-many-names"]


def test_a_from_display_name_holding_a_list_is_unverified():
    names = ", ".join(OTHERS[:20] + ["Thomas Guillou"])
    identity, why = identity_of("Client 42118\nBonjour.", from_name=names)
    assert identity.status == "unverified" and "from name holds" in why["too-many-names"]


def test_a_signature_of_many_name_shaped_lines_is_unverified():
    lines = "\n".join(OTHERS[:40] + ["Thomas Guillou"])
    identity, why = identity_of(f"Client 42118\nBonjour.\n\n--\n{lines}\n")
    assert identity.status == "unverified" and "lines offer a name" in why["too-many-names"]


def test_stated_names_of_two_different_contacts_are_unverified():
    identity, why = identity_of("Client 42118\nNom : Thomas Guillou\nNom : Nolwenn Le Bihan\n")
    assert identity.status == "unverified" and "2 different contacts" in why["conflicting-names"]


def test_a_colleague_mentioned_in_the_text_does_not_conflict_with_the_stated_name():
    identity, _ = identity_of(
        "Client 42118\nNom : Thomas Guillou\n\nMerci d'ajouter notre collègue, Erwan Tanguy, "
        "comme contact.\n"
    )
    assert identity.status == "verified" and identity.contact_name == "Thomas Guillou"
