"""`guichet config show`: each folder, file and setting with where it comes from."""

from __future__ import annotations

import json

from click.testing import CliRunner

from ingest import settings as settings_module
from workers.cli.main import cli


def _show(monkeypatch, **env) -> dict:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings_module.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["config", "show", "--json"])
    finally:
        settings_module.get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_each_setting_names_its_source_and_hides_secrets(monkeypatch):
    shown = _show(
        monkeypatch,
        GUICHET_SMTP_LISTEN="0.0.0.0:25",
        DATABASE_URL="postgresql+psycopg://guichet:hunter2@db/guichet",
        GUICHET_SMTP_RELAY_USERNAME="guichet",
        GUICHET_SMTP_RELAY_PASSWORD="hunter2",
    )
    by_name = {s["name"]: s for s in shown["settings"]}
    assert by_name["smtp_listen"] == {
        "name": "smtp_listen",
        "value": "0.0.0.0:25",
        "source": "environment GUICHET_SMTP_LISTEN",
    }
    assert by_name["http_listen"]["source"] == "settings.toml"
    assert by_name["smtp_tls_cert"]["source"] == "default"
    assert "hunter2" not in json.dumps(shown)
    assert by_name["database_url"]["value"] == "postgresql+psycopg://***@db/guichet"


def test_folders_say_whether_they_come_from_the_environment(monkeypatch, tmp_path):
    shown = _show(monkeypatch, GUICHET_TEMPLATES_DIR=str(tmp_path))
    assert shown["folders"]["templates"] == {
        "path": str(tmp_path),
        "from": "environment GUICHET_TEMPLATES_DIR",
    }
    assert shown["folders"]["config"]["from"] in (
        "the source checkout",
        "shipped in the installed package",
    )
    assert {f["name"] for f in shown["files"] if f["present"]} >= {"settings.toml", "policy.toml"}
