"""Real services for the integration tests, each on its own free port or database."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from workers.running.embedded_redis import EmbeddedRedis

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
PG_ADMIN_URL = os.environ.get(
    "GUICHET_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unavailable(what: str, why: str):
    """Locally a missing service skips; under CI=true it fails (DEVELOPERS' rule)."""
    message = f"{what} unavailable: {why}"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


def start_redis(directory: Path) -> EmbeddedRedis:
    return EmbeddedRedis(directory, port=free_port(), socket=None).start()


class PostgresDatabases:
    """Creates a throw-away database per use on the local PostgreSQL server."""

    def __init__(self, admin_url: str = PG_ADMIN_URL):
        from sqlalchemy import create_engine

        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.created: list[str] = []

    def create(self) -> str:
        name = f"guichet_test_{uuid.uuid4().hex[:12]}"
        from sqlalchemy import text

        with self.admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        self.created.append(name)
        return self.admin.url.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        from sqlalchemy import text

        from workers.store.engine import engine_for

        engine_for.cache_clear()
        with self.admin.connect() as conn:
            for name in self.created:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


class SinkHandler:
    """Collects every message the SMTP sink receives, with its envelope."""

    def __init__(self):
        self.messages: list[dict] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self.arrived:
            self.messages.append(
                {
                    "mail_from": envelope.mail_from,
                    "rcpt_tos": list(envelope.rcpt_tos),
                    "data": envelope.original_content,
                }
            )
            self.arrived.notify_all()
        return "250 2.0.0 Ok"

    def wait_for(self, count: int, timeout: float = 20) -> list[dict]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout)
            return list(self.messages)


class SmtpSink:
    """A real SMTP server that plays the relay: acknowledgements land here."""

    def __init__(self):
        self.handler = SinkHandler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpSink:
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"
