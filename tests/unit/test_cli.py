"""The `guichet` command: useful help everywhere, explain's JSON contract, the directory import."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ingest.config_files import config_dir
from ingest.settings import get_settings
from workers.cli.main import cli

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GUICHET_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("path", list(_commands(cli)), ids=" ".join)
def test_every_command_has_a_help_that_says_what_it_does(path):
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0
    summary = result.output.split("\n\n")[1].strip()
    assert len(summary) > 20, f"`guichet {' '.join(path)} --help` says too little: {summary!r}"


def test_explain_json_carries_every_documented_key(home):
    runner = CliRunner()
    assert (
        runner.invoke(
            cli, ["directory", "import", str(config_dir() / "directory-demo.csv")]
        ).exit_code
        == 0
    )
    eml = CORPUS / "001-numero-nu-ligne-entete.eml"
    result = runner.invoke(cli, ["explain", str(eml), "--at", "2026-11-27T21:30", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"status", "client_number", "contact_name", "sender_authenticated"} <= set(
        out["identity"]
    )
    assert out["urgency"] in ("routine", "urgent") and isinstance(out["urgent_requested"], bool)
    assert out["language"] in ("fr", "en") and isinstance(out["acknowledge"], bool)
    assert "skip_reason" in out
    assert {"gti_deadline", "phones", "oncall_page_at"} <= set(out["guidance"])
    assert out["ack"]["subject"] and out["ack"]["text"]
    assert out["received_at"].startswith("2026-11-27T21:30")


def test_explain_shows_sender_trust_the_acknowledgement_variant_and_the_page_limit(home):
    runner = CliRunner()
    runner.invoke(cli, ["directory", "import", str(config_dir() / "directory-demo.csv")])
    eml = CORPUS / "001-numero-nu-ligne-entete.eml"

    def explained(*args):
        result = runner.invoke(cli, ["explain", str(eml), "--json", *args])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    declared = explained()
    assert declared["sender_trust"]["trust"] == "declared"
    assert declared["ack_variant"]["variant"] == "full"
    forged = explained("--sender", "victim@example.org")
    assert forged["sender_trust"]["trust"] == "unknown"  # a declared From, a stranger's envelope
    assert forged["ack_variant"]["variant"] == "minimal"
    human = runner.invoke(cli, ["explain", str(eml), "--sender", "victim@example.org"]).output
    assert "sender " in human and "ack " in human and "page " in human
    assert {"at", "limit_applies", "limit"} <= set(forged["page"])


def test_explain_writes_nothing(home):
    eml = CORPUS / "001-numero-nu-ligne-entete.eml"
    CliRunner().invoke(cli, ["explain", str(eml), "--json"])
    result = CliRunner().invoke(cli, ["tickets", "list", "--json"])
    assert json.loads(result.output) == []


def test_a_bad_directory_file_is_refused_whole_with_line_numbers(home, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "client_number,company,contact_name,contact_email,services,coverage,gti\n"
        "1234,Acme,Jean,jean@acme.fr,shared_hosting,business,4h\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["directory", "import", str(bad)])
    assert result.exit_code == 2
    assert "line 2: client_number '1234' is not exactly 5 digits" in result.output
    assert "nothing imported" in result.output


def test_showing_a_ticket_that_does_not_exist_says_what_to_do(home):
    result = CliRunner().invoke(cli, ["tickets", "show", "123456"])
    assert result.exit_code == 2 and "guichet tickets list" in result.output
