"""The wheel as a user installs it: built from the checkout, installed into a fresh virtualenv
outside it, and run from another folder — the default policy, vocabulary, settings and
templates come from inside the installed package."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.support.mail import customer_mail, send
from tests.support.running import ROOT, GuichetRun, clean_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _run(*args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run(args, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """bin/ of a fresh virtualenv holding the wheel (and its dependencies from PyPI)."""
    where = tmp_path_factory.mktemp("wheel")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(where), str(ROOT))
    [wheel] = where.glob("guichet-*.whl")
    _run(sys.executable, "-m", "venv", str(where / "venv"))
    _run(str(where / "venv/bin/python"), "-m", "pip", "install", "-q", str(wheel))
    return where / "venv" / "bin"


def test_the_installed_package_imports_from_itself_and_names_its_shipped_files(installed, tmp_path):
    env = clean_env(tmp_path / "home")
    where = _run(
        str(installed / "python"),
        "-c",
        "import ingest; print(ingest.__file__)",
        cwd=tmp_path,
        env=env,
    ).stdout
    assert str(installed.parent) in where and str(ROOT) not in where
    shown = json.loads(
        _run(str(installed / "guichet"), "config", "show", "--json", cwd=tmp_path, env=env).stdout
    )
    for folder in ("config", "templates"):
        assert shown["folders"][folder]["from"] == "shipped in the installed package"
        assert shown["folders"][folder]["path"].startswith(str(installed.parent))
    assert all(f["present"] for f in shown["files"])
    overridden = dict(env, GUICHET_TEMPLATES_DIR=str(ROOT / "templates"))
    shown = json.loads(
        _run(
            str(installed / "guichet"), "config", "show", "--json", cwd=tmp_path, env=overridden
        ).stdout
    )
    assert shown["folders"]["templates"] == {
        "path": str(ROOT / "templates"),
        "from": "environment GUICHET_TEMPLATES_DIR",
    }


def test_one_mail_end_to_end_from_another_folder(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    home = tmp_path / "home"
    running = GuichetRun(
        [str(installed / "guichet"), "run"], clean_env(home), elsewhere, tmp_path / "run.log"
    )
    # The demo directory, from the copy inside the installed package.
    demo = next(
        installed.parent.glob("lib/python*/site-packages/ingest/_shipped/config/directory-demo.csv")
    )
    imported = running.cli("directory", "import", str(demo))
    assert imported.returncode == 0, imported.stderr
    running.start()
    try:
        code, text = send(running.smtp, customer_mail())
        assert code == 250, text
        deadline = time.monotonic() + 60
        while not list((home / "outbox" / "new").glob("*")) and time.monotonic() < deadline:
            time.sleep(0.3)
        tickets = json.loads(running.cli("tickets", "list", "--json").stdout)
        assert [t["client_number"] for t in tickets] == ["20481"]
        [ack] = list((home / "outbox" / "new").glob("*"))
        assert f"#{tickets[0]['number']}".encode() in ack.read_bytes()
    finally:
        assert running.stop() == 0, running.log()[-3000:]
    assert "ConfigError" not in running.log()
