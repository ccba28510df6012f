"""Every `guichet` command given bad arguments says what is wrong and what is accepted, exits 2,
and never prints a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ingest.config_files import config_dir
from ingest.settings import get_settings
from workers.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
EML = ROOT / "tests" / "corpus" / "001-numero-nu-ligne-entete.eml"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GUICHET_HOME", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "var"
    get_settings.cache_clear()


def leaf_commands(group: click.Group, prefix=()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from leaf_commands(command, (*prefix, name))
        else:
            yield (*prefix, name)


def refused(args: list[str], *expected: str) -> str:
    """Run `guichet ARGS`; it must exit 2 with every `expected` phrase and no traceback."""
    result = CliRunner().invoke(cli, args)
    output = result.output
    assert "Traceback" not in output, output
    assert result.exit_code == 2, (result.exit_code, output, result.exception)
    assert not (result.exception and not isinstance(result.exception, SystemExit)), output
    for phrase in expected:
        assert phrase in output, f"{phrase!r} not in {output!r}"
    return output


@pytest.mark.parametrize("path", list(leaf_commands(cli)), ids=" ".join)
def test_every_command_refuses_an_unknown_option_with_exit_2_and_names_it(path, home):
    refused([*path, "--no-such-option"], "No such option", "--no-such-option", "--help")


@pytest.fixture
def directory(home):
    csv = config_dir() / "directory-demo.csv"
    assert CliRunner().invoke(cli, ["directory", "import", str(csv)]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["explain", str(EML), "--at", "tomorrow"], ["'tomorrow'", "ISO-8601", "2026-11-27T21:30"]),
        (["explain", "missing.eml"], ["missing.eml", "does not exist"]),
        (["explain"], ["Missing argument", "EML"]),
        (["eval", str(EML)], ["is a file"]),
        (["eval", str(ROOT / "tests" / "corpus"), "--at", "noon"], ["'noon'", "ISO-8601"]),
        (["templates", "preview", "ack.de"], ["'ack.de'", "accepted: en, ack.en", "fr, ack.fr"]),
        (["templates", "preview", "ack.fr.pdf"], ["'ack.fr.pdf'", "parts: subject, txt, html"]),
        (
            ["templates", "preview", "ack.fr", "--scenario", "nope"],
            ["'nope'", "verified-urgent-offhours"],
        ),
        (["templates", "preview", "fr", "--at", "yesterday"], ["'yesterday'", "ISO-8601"]),
        (["tickets", "show", "abc"], ["'abc' is not a valid integer"]),
        (["tickets", "show", "123456"], ["no ticket #123456", "guichet tickets list"]),
        (["tickets", "list", "--limit", "0"], ["0 is not in the range x>=1"]),
        (["outbox", "show", "3"], ["no acknowledgement #3", "the outbox is empty"]),
        (["parked", "retry", "x"], ["'x' is not a valid integer"]),
        (["partners", "add", "acme", "--clients", "12"], ["12", "5 digits"]),
        (["partners", "rotate", "nobody"], ["no active partner named nobody", "partners list"]),
        (["partners", "revoke", "nobody"], ["no active partner named nobody"]),
        (["partners", "rotate", "x", "--keep-old-for", "soon"], ["90s, 30m, 24h, 7d"]),
        (["worker", "--threads", "many"], ["'many' is not a valid integer"]),
        (["smtp"], ["no REDIS_URL", "guichet run"]),
        (["nope"], ["No such command 'nope'"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and v[0] != "'" else None,
)
def test_a_user_mistake_says_what_is_wrong_and_what_is_accepted(args, expected, home):
    refused(args, *expected)


def test_a_partner_restricted_to_a_number_outside_the_directory_is_refused(directory):
    refused(
        ["partners", "add", "acme", "--clients", "20481,99999"],
        "99999 not in the directory",
        "guichet directory list",
    )
    assert CliRunner().invoke(cli, ["partners", "add", "acme", "--clients", "20481"]).exit_code == 0


def test_a_csv_that_is_not_text_or_has_bad_rows_is_refused(home, tmp_path):
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01garbage\x00")
    refused(["directory", "import", str(binary)], "not a UTF-8 CSV file", "client_number,company")
    bad = tmp_path / "bad.csv"
    bad.write_text("who,what\n1,2\n", encoding="utf-8")
    refused(["directory", "import", str(bad)], "line 1: header must be", "nothing imported")


def test_eval_of_a_folder_without_cases_or_with_a_broken_label_says_so(home, tmp_path):
    refused(["eval", str(tmp_path)], "holds no labelled case", "NNN-name.eml")
    (tmp_path / "001-x.eml").write_bytes(EML.read_bytes())
    (tmp_path / "001-x.json").write_text("{not json", encoding="utf-8")
    refused(["eval", str(tmp_path)], "001-x.json", "not a UTF-8 JSON label")


def test_a_bad_database_url_is_a_user_mistake(home, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "nonsense")
    get_settings.cache_clear()
    refused(["tickets", "list"], "DATABASE_URL", "postgresql+psycopg://")


def test_the_installed_command_prints_no_traceback_for_a_bad_moment(home):
    completed = subprocess.run(
        [sys.executable, "-m", "workers.cli.main", "explain", str(EML), "--at", "tomorrow"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr and "'tomorrow'" in completed.stderr
    assert "unreachable" not in completed.stderr  # the parser generator is quiet


def test_eval_uses_the_corpus_own_directory(home):
    holdout = ROOT / "tests" / "corpus-holdout"

    def accuracy(*directory: str) -> dict:
        args = ["eval", str(holdout), "--json", "--at", "2026-11-24T10:00", *directory]
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["accuracy"]

    by_default = accuracy()
    assert by_default == accuracy("--directory", str(holdout / "directory.csv"))
    assert by_default != accuracy("--directory", str(config_dir() / "directory-demo.csv"))
