"""docker-compose.yml works as written, as far as can be checked without a Docker engine: it
parses, every command it runs exists in guichet's CLI, every variable it sets is a setting
guichet reads, every image is pinned, the image's build context keeps secrets out, the
migrations run before the roles, and each role has a healthcheck and a restart policy."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
import yaml

from ingest.setting_origins import known_variables
from workers.cli.main import cli

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
GUICHET = {n: s for n, s in SERVICES.items() if s.get("image", "").startswith("guichet:")}
ROLES = ("smtp", "web", "worker")
# A full release, not a moving tag (latest, 7, 7.2): MAJOR.MINOR.PATCH[-variant], except for
# PostgreSQL whose releases are MAJOR.MINOR (16.6).
RELEASE = {"postgres": r"\d+\.\d+"}


def _pinned(image: str) -> bool:
    name, _, tag = image.partition(":")
    version = RELEASE.get(name, r"v?\d+\.\d+\.\d+")
    return re.fullmatch(rf"{version}(-[\w.-]+)?", tag) is not None


def _dockerfile() -> Path:
    build = next(iter(GUICHET.values()))["build"]
    return ROOT / build["context"] / build["dockerfile"]


def _command_exists(args: list[str]) -> bool:
    """Does `guichet ARGS…` name a command (options and arguments after it aside)?"""
    assert args[0] == "guichet"
    group: click.Command = cli
    ctx = click.Context(cli, info_name="guichet")
    for word in args[1:]:
        if not isinstance(group, click.Group) or word.startswith("-"):
            break
        found = group.get_command(ctx, word)
        if found is None:
            return False
        group = found
    return not isinstance(group, click.Group)


def test_every_role_and_its_backing_services_are_declared():
    assert {"redis", "postgres", "migrate", "directory", *ROLES} <= set(SERVICES)


@pytest.mark.parametrize("name", sorted(GUICHET))
def test_each_command_and_healthcheck_exists_in_the_guichet_cli(name):
    service = GUICHET[name]
    assert _command_exists(service["command"]), service["command"]
    if "healthcheck" in service:
        test = service["healthcheck"]["test"]
        assert test[0] == "CMD" and _command_exists(test[1:]), test


@pytest.mark.parametrize("name", sorted(GUICHET))
def test_every_variable_set_is_a_setting_guichet_reads(name):
    unknown = set(GUICHET[name]["environment"]) - known_variables()
    assert not unknown, f"{name} sets variables guichet never reads: {unknown}"


def test_the_roles_run_against_redis_and_postgresql_after_the_migrations():
    for role in ROLES:
        service = SERVICES[role]
        assert service["command"] == ["guichet", role]
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["environment"]["DATABASE_URL"].startswith("postgresql+psycopg://")
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        assert service["restart"] == "unless-stopped"
    assert SERVICES["migrate"]["command"] == ["guichet", "db", "upgrade"]
    assert SERVICES["migrate"]["restart"] == "no"
    assert set(SERVICES["migrate"]["depends_on"]) == {"postgres"}


def test_every_guichet_service_shares_one_home_volume():
    for name, service in GUICHET.items():
        home = service["environment"]["GUICHET_HOME"]
        volume = next(v for v in service["volumes"] if v.endswith(f":{home}"))
        assert volume.split(":")[0] in COMPOSE["volumes"], name


def test_each_role_and_backing_service_has_a_healthcheck_and_a_restart_policy():
    for name in (*ROLES, "redis", "postgres"):
        assert SERVICES[name]["healthcheck"]["test"], name
        assert SERVICES[name]["restart"] == "unless-stopped", name
    for dependency in ("redis", "postgres"):
        for role in ROLES:
            assert SERVICES[role]["depends_on"][dependency]["condition"] == "service_healthy"


def test_dependencies_name_declared_services_and_redis_keeps_an_append_only_file():
    for name, service in SERVICES.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, f"{name} depends on unknown service {dependency}"
    command = SERVICES["redis"]["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] in ("everysec", "always")


def test_every_image_is_pinned_to_a_full_version_and_so_is_the_base_image():
    for name, service in SERVICES.items():
        assert _pinned(service["image"]), f"{name}: {service['image']} is not pinned"
    bases = re.findall(r"^FROM\s+(\S+)", _dockerfile().read_text(), flags=re.MULTILINE)
    assert bases and all(_pinned(b) for b in bases), bases


def test_the_build_context_is_an_allow_list_that_keeps_state_and_secrets_out():
    ignore = _dockerfile().with_name(_dockerfile().name + ".dockerignore")
    rules = [
        line.strip()
        for line in ignore.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"  # everything out, then only what the wheel is built from
    allowed = {r[1:].rstrip("/") for r in rules if r.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "ingest", "workers", "config", "templates"}
    copied = re.findall(r"^COPY\s+(?!--from)(.+)$", _dockerfile().read_text(), flags=re.MULTILINE)
    sources = {s for line in copied for s in line.split()[:-1]}
    assert sources <= allowed
