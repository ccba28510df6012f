"""Browser fixtures: the console on SQLite with its pipeline, and Debian's headless Chromium."""

from __future__ import annotations

import pytest

from tests.support.browser import Browser, missing
from tests.support.console import Console
from tests.support.services import unavailable


@pytest.fixture
def console(tmp_path, redis_url, sink):
    running = Console(
        tmp_path, f"sqlite:///{tmp_path / 'guichet.sqlite3'}", redis_url, sink.address
    )
    yield running.start()
    running.stop()


@pytest.fixture
def browser():
    why = missing()
    if why:
        unavailable("headless Chromium", why)
    opened = Browser()
    yield opened
    opened.quit()
