"""The `[[mailboxes]]` settings: refused when unsafe or ambiguous, with a message saying why."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ingest.edges.imap_config import CredentialError, Mailbox
from ingest.settings import Settings

BASE = {"name": "support", "host": "imap.example.net", "username": "support@example.net"}


def test_a_mailbox_defaults_to_implicit_tls_on_port_993_with_folders_for_what_was_taken():
    box = Mailbox(**BASE, password="s3cret")
    assert (box.tls, box.server_port, box.folder) == ("implicit", 993, "INBOX")
    assert (box.processed_folder, box.rejected_folder) == ("guichet/processed", "guichet/rejected")
    assert box.source == "imap:support"
    assert "s3cret" not in repr(box)


def test_starttls_defaults_to_port_143():
    assert Mailbox(**BASE, tls="starttls", password="x").server_port == 143


def test_a_login_in_clear_is_refused_except_on_loopback():
    with pytest.raises(ValidationError, match="in clear"):
        Mailbox(**BASE, tls="none", password="x")
    assert Mailbox(**{**BASE, "host": "127.0.0.1"}, tls="none", password="x").server_port == 143


@pytest.mark.parametrize(
    "secrets",
    [{}, {"password": "x", "password_file": "/run/secrets/imap"}],
    ids=["none", "two"],
)
def test_a_password_login_needs_exactly_one_password_source(secrets):
    with pytest.raises(ValidationError, match="exactly one of password or password_file"):
        Mailbox(**BASE, **secrets)


def test_an_xoauth2_login_needs_a_token_file_or_command():
    with pytest.raises(ValidationError, match="oauth2_token_file or oauth2_token_command"):
        Mailbox(**BASE, auth="xoauth2", password="x")


def test_secrets_are_read_when_needed_so_a_rotated_token_is_picked_up(tmp_path):
    token = tmp_path / "token"
    token.write_text("first\n")
    box = Mailbox(**BASE, auth="xoauth2", oauth2_token_file=token)
    assert box.secret() == "first"
    token.write_text("second\n")
    assert box.secret() == "second"


def test_a_token_command_prints_the_token_and_a_failing_one_says_so():
    box = Mailbox(**BASE, auth="xoauth2", oauth2_token_command="echo token-from-command")
    assert box.secret() == "token-from-command"
    broken = Mailbox(**BASE, auth="xoauth2", oauth2_token_command="false")
    with pytest.raises(CredentialError, match="oauth2_token_command"):
        broken.secret()


def test_a_missing_password_file_is_a_credential_error_naming_the_mailbox(tmp_path):
    box = Mailbox(**BASE, password_file=tmp_path / "absent")
    with pytest.raises(CredentialError, match="'support'"):
        box.secret()


def test_unknown_keys_and_duplicate_names_are_refused():
    with pytest.raises(ValidationError, match="hostname"):
        Mailbox(**BASE, password="x", hostname="typo")
    with pytest.raises(ValidationError, match="distinct"):
        Settings(mailboxes=[{**BASE, "password": "x"}, {**BASE, "password": "y"}])


def test_mailboxes_come_from_the_environment_as_json(monkeypatch):
    monkeypatch.setenv(
        "GUICHET_MAILBOXES",
        '[{"name": "support", "host": "imap.example.net", "username": "u", "password": "p"}]',
    )
    assert [m.name for m in Settings().mailboxes] == ["support"]


def test_moving_mail_into_the_folder_being_read_is_refused():
    with pytest.raises(ValidationError, match="read it again forever"):
        Mailbox(**BASE, password="x", processed_folder="inbox")
