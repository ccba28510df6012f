"""docker-compose.yml describes the production shape: every role, wired to Redis and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _services() -> dict:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))["services"]


def test_every_role_and_its_backing_services_are_declared():
    assert {"redis", "postgres", "smtp", "worker", "web", "mailcatcher", "migrate"} <= set(
        _services()
    )


def test_each_guichet_role_runs_its_own_command_against_redis_and_postgresql():
    services = _services()
    for role in ("smtp", "worker", "web"):
        service = services[role]
        assert service["command"] == ["guichet", role]
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
        assert service["environment"]["DATABASE_URL"].startswith("postgresql")
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_dependencies_name_declared_services_and_redis_persists():
    services = _services()
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown service {dependency}"
    assert "--appendonly" in services["redis"]["command"]
