"""The README's two commands are what a fresh machine runs, and CI runs the second verbatim."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks() -> list[str]:
    return re.findall(r"```sh\n(.*?)\n```", README, flags=re.DOTALL)


def test_the_first_command_installs_imports_the_demo_directory_and_runs_the_stack():
    first = _blocks()[0]
    assert first.startswith("python3 -m venv .venv && .venv/bin/pip install -e . ")
    demo = re.search(r"guichet directory import (\S+)", first).group(1)
    assert (ROOT / demo).is_file()
    assert first.endswith(".venv/bin/guichet run")


def test_ci_runs_the_readmes_test_command_verbatim():
    second = _blocks()[1]
    assert "pytest" in second
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert second in ci


def test_the_production_section_points_to_the_compose_stack_and_the_operations_guide():
    production = README[README.index("## Production") :]
    assert "docker compose up" in production and "docs/operations.md" in production
    assert (ROOT / "docker-compose.yml").is_file() and (ROOT / "docs/operations.md").is_file()
