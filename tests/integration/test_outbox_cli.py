"""`guichet outbox list` / `show N` print the embedded outbox's acknowledgements decoded."""

from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from ingest.settings import get_settings
from tests.support.mail import customer_mail, send
from tests.support.stack import Stack, stack_settings
from workers.cli.main import cli

pytestmark = pytest.mark.integration


@pytest.fixture
def outbox_stack(tmp_path, redis_url, monkeypatch):
    """The stack with no relay: acknowledgements land in the Maildir outbox under its home."""
    home = tmp_path / "home"
    settings = stack_settings(home, f"sqlite:///{tmp_path / 'db.sqlite3'}", redis_url, None)
    stack = Stack(settings).start()
    monkeypatch.setenv("GUICHET_HOME", str(home))
    monkeypatch.setenv("DATABASE_URL", settings.database)
    get_settings.cache_clear()
    yield stack
    stack.stop()
    get_settings.cache_clear()


def test_the_outbox_lists_and_shows_acknowledgements_decoded(outbox_stack):
    subjects = ["Boîte mail pleine", "Certificat à renouveler"]
    for subject in subjects:
        assert send(outbox_stack.smtp_address, customer_mail(subject=subject))[0] == 250
    outbox_stack.settle()
    deadline = time.monotonic() + 20
    listing = ""
    while time.monotonic() < deadline and listing.count("[DRI #") < 2:
        listing = CliRunner().invoke(cli, ["outbox", "list"]).output
        time.sleep(0.2)
    lines = listing.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["1", "2"]  # numbered in the order written
    first = 0 if subjects[0] in lines[0] else 1  # two worker threads: either may write first
    assert subjects[0] in lines[first] and subjects[1] in lines[1 - first]  # decoded
    shown = CliRunner().invoke(cli, ["outbox", "show", str(first + 1)])
    assert shown.exit_code == 0
    assert f"Subject: {lines[first].rsplit('  ', 1)[-1]}" in shown.output
    text = " ".join(shown.output.split())
    assert "Nous avons bien reçu votre demande « Boîte mail pleine »" in text
    assert "=C3=" not in shown.output and "=\n" not in shown.output  # no quoted-printable left
    html = CliRunner().invoke(cli, ["outbox", "show", str(2 - first), "--html"]).output
    assert "<!DOCTYPE html>" in html and "Certificat à renouveler" in html
    assert CliRunner().invoke(cli, ["outbox", "show", "3"]).exit_code == 2
