"""One `guichet run` per home: the lock, what it tells the one refused, and heartbeats."""

from __future__ import annotations

import json
import os
import time

import pytest

from workers.running.heartbeat import Heartbeat, fresh_beats
from workers.running.home_lock import AlreadyRunning, HomeLock


def test_a_second_lock_on_the_same_home_is_refused_with_who_holds_it(tmp_path):
    first = HomeLock(tmp_path).acquire(smtp="127.0.0.1:2525", http="127.0.0.1:8025")
    written = (tmp_path / "guichet.lock").read_bytes()
    with pytest.raises(AlreadyRunning) as refused:
        HomeLock(tmp_path).acquire(smtp="127.0.0.1:2526", http="127.0.0.1:8026")
    assert refused.value.holder["pid"] == os.getpid()
    assert "127.0.0.1:2525" in str(refused.value) and "127.0.0.1:8025" in str(refused.value)
    assert (tmp_path / "guichet.lock").read_bytes() == written  # the refused one wrote nothing
    first.release()
    again = HomeLock(tmp_path).acquire(smtp="127.0.0.1:2526", http="127.0.0.1:8026")
    assert json.loads((tmp_path / "guichet.lock").read_text())["smtp"] == "127.0.0.1:2526"
    again.release()


def test_a_worker_heartbeat_is_fresh_while_it_beats_and_gone_once_stopped(tmp_path):
    beat = Heartbeat(tmp_path).start()
    assert fresh_beats(tmp_path) == [os.getpid()]
    assert fresh_beats(tmp_path, now=time.time() + 60) == []  # stale: the worker hangs
    assert fresh_beats(tmp_path, host="another-container") == []
    beat.stop()
    assert fresh_beats(tmp_path) == []


def test_no_beat_is_written_while_the_worker_threads_are_dead(tmp_path):
    beat = Heartbeat(tmp_path, alive=lambda: False).start()
    assert fresh_beats(tmp_path) == []
    beat.stop()
