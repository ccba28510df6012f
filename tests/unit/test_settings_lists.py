"""List settings from the environment: JSON arrays and comma-separated words, for every one of them."""

from __future__ import annotations

import typing

import pytest
from pydantic import ValidationError

from ingest.settings import Settings

LISTS = [  # lists of words (mailboxes, a list of tables, is JSON only: see test_mailbox_settings)
    name
    for name, field in Settings.model_fields.items()
    if (typing.get_origin(field.annotation) is list or "list" in str(field.annotation).lower())
    and "list[str]" in str(field.annotation)
]


def env_name(name: str) -> str:
    return Settings.model_fields[name].validation_alias.choices[0]


def test_every_list_setting_is_known_here():
    assert {"support_addresses", "urgent_addresses", "limits_exempt"} <= set(LISTS)
    assert {"trusted_authserv_ids", "smtp_trusted_relays"} <= set(LISTS)


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("written", ['["a@x.example", "b@x.example"]', "a@x.example, b@x.example"])
def test_a_list_setting_reads_json_or_comma_separated_from_the_environment(
    monkeypatch, name, written
):
    monkeypatch.setenv(env_name(name), written)
    assert getattr(Settings(), name) == ["a@x.example", "b@x.example"]


def test_an_empty_list_can_be_written_either_way(monkeypatch):
    for written in ("[]", ""):
        monkeypatch.setenv("GUICHET_LIMITS_EXEMPT", written)
        assert Settings().limits_exempt == []


def test_a_broken_json_list_names_the_setting_and_not_its_value(monkeypatch):
    monkeypatch.setenv("GUICHET_SMTP_TRUSTED_RELAYS", '["10.0.0.1"')
    with pytest.raises(ValidationError) as error:
        Settings()
    assert "GUICHET_SMTP_TRUSTED_RELAYS" in str(error.value)
    assert "not a JSON array" in str(error.value) and "10.0.0.1" not in str(error.value)


def test_a_relay_password_without_a_username_is_refused_without_showing_it(monkeypatch):
    monkeypatch.setenv("GUICHET_SMTP_RELAY_PASSWORD", "hunter2-secret")
    with pytest.raises(ValidationError) as error:
        Settings()
    assert "GUICHET_SMTP_RELAY_USERNAME" in str(error.value)
    assert "hunter2-secret" not in str(error.value)
