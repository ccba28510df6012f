"""Fixtures: real Redis, PostgreSQL and SMTP on free ports; the stack on SQLite and on PostgreSQL."""

from __future__ import annotations

import os

# DKIM keys are never looked up in DNS by the tests, in this process or any it starts
# (ingest/rules/dkim_keys.py): a signature without an injected key is a "temperror".
os.environ.setdefault("GUICHET_DKIM_DNS", "false")

import pytest

from tests.support.services import PostgresDatabases, SmtpSink, start_redis, unavailable
from tests.support.stack import Stack, stack_settings


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    try:
        server = start_redis(tmp_path_factory.mktemp("redis"))
    except Exception as exc:  # noqa: BLE001
        unavailable("redis-server", str(exc))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def postgres():
    try:
        databases = PostgresDatabases()
        with databases.admin.connect():
            pass
    except Exception as exc:  # noqa: BLE001
        unavailable("PostgreSQL at 127.0.0.1:5432", str(exc))
    yield databases
    databases.drop_all()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'guichet.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").create()
    yield url
    # Close this test's pooled connections now: the server's connection slots are shared by
    # every test (and every worker thread) of the session.
    from workers.store.engine import engine_for

    engine_for(url).dispose()


@pytest.fixture
def sink():
    with SmtpSink() as server:
        yield server


@pytest.fixture
def redis_url(redis_server):
    client = redis_server.client()
    client.flushall()
    return redis_server.url


@pytest.fixture
def stack(tmp_path, database_url, redis_url, sink):
    # The walking skeleton runs the listener exactly as in production: parser processes.
    settings = stack_settings(
        tmp_path / "home", database_url, redis_url, sink.address, parse_processes=1
    )
    running = Stack(settings).start()
    yield running
    running.stop()
