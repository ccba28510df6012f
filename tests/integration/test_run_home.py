"""`guichet run` as a person starts it: one per home, a banner once everything answers, a
supervised embedded Redis, and logs a person or a machine can read."""

from __future__ import annotations

import json
import os
import signal
import smtplib
import subprocess
import time
import urllib.error
import urllib.request

import pytest

from tests.support.mail import customer_mail, send
from tests.support.running import ROOT, GuichetRun, embedded_redis_pid

pytestmark = pytest.mark.integration


@pytest.fixture
def running(tmp_path):
    run = GuichetRun.from_checkout(tmp_path / "home", tmp_path / "run.log")
    imported = run.cli("directory", "import", str(ROOT / "config" / "directory-demo.csv"))
    assert imported.returncode == 0, imported.stderr
    run.start()
    yield run
    assert run.stop() == 0, run.log()[-3000:]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_banner_comes_once_smtp_http_and_workers_answer_and_says_where_acks_go(running):
    banner = running.log()[running.log().index("guichet is ready") :]
    home = running.env["GUICHET_HOME"]
    assert running.env["GUICHET_SMTP_LISTEN"] in banner
    assert f"{running.http}/admin/" in banner
    assert f"written to {home}/outbox" in banner
    assert f"kill -TERM {running.process.pid}" in banner
    assert running.log().count("guichet is ready") == 1
    # Ready means ready: right after the banner, the listener greets and the app is ready.
    with smtplib.SMTP(*running.smtp, timeout=10) as client:
        assert client.noop()[0] == 250
    assert _status(f"{running.http}/readyz") == 200


def test_the_home_and_what_guichet_keeps_in_it_are_owner_only(running):
    home = running.env["GUICHET_HOME"]
    for folder in (home, f"{home}/redis", f"{home}/outbox"):
        if os.path.exists(folder):
            assert os.stat(folder).st_mode & 0o777 == 0o700, folder
    assert os.stat(f"{home}/redis").st_mode & 0o777 == 0o700
    database = f"{home}/guichet.sqlite3"
    assert os.stat(database).st_mode & 0o077 == 0, database


def test_health_commands_answer_for_each_role_of_a_running_stack(running):
    for role in ("smtp", "web", "worker"):
        checked = running.cli("health", role)
        assert checked.returncode == 0, (role, checked.stderr)
    stopped = dict(
        running.env, GUICHET_SMTP_LISTEN="127.0.0.1:1", GUICHET_HTTP_LISTEN="127.0.0.1:1"
    )
    for role in ("smtp", "web"):
        refused = subprocess.run(
            [*running.command[:-1], "health", role],
            env=stopped,
            cwd=running.cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert refused.returncode == 1 and "unhealthy" in refused.stderr


def test_a_second_run_in_the_same_home_exits_at_once_naming_the_first_and_touches_nothing(
    running, tmp_path
):
    home = running.env["GUICHET_HOME"]
    before = sorted(p.name for p in (tmp_path / "home" / "redis").iterdir())
    socket_inode = os.stat(f"{home}/redis/redis.sock").st_ino
    second_env = dict(
        running.env, GUICHET_SMTP_LISTEN="127.0.0.1:1", GUICHET_HTTP_LISTEN="127.0.0.1:2"
    )
    second = subprocess.run(
        running.command, env=second_env, cwd=running.cwd, capture_output=True, text=True, timeout=60
    )
    assert second.returncode != 0
    assert f"pid {running.process.pid}" in second.stderr
    assert running.env["GUICHET_SMTP_LISTEN"] in second.stderr
    assert running.env["GUICHET_HTTP_LISTEN"] in second.stderr
    assert "guichet is ready" not in second.stderr
    # The first one's Redis socket, data and lock are untouched, and it still takes mail.
    assert os.stat(f"{home}/redis/redis.sock").st_ino == socket_inode
    assert sorted(p.name for p in (tmp_path / "home" / "redis").iterdir()) == before
    assert (
        json.loads((tmp_path / "home" / "guichet.lock").read_text())["pid"] == running.process.pid
    )
    assert send(running.smtp, customer_mail())[0] == 250


def test_readyz_reports_a_redis_that_does_not_answer_while_it_lasts(running, tmp_path):
    pid = embedded_redis_pid(tmp_path / "home")
    os.kill(pid, signal.SIGSTOP)  # alive (not restarted) but silent
    try:
        assert _status(f"{running.http}/readyz") == 503
    finally:
        os.kill(pid, signal.SIGCONT)
    assert _status(f"{running.http}/readyz") == 200


def test_logs_are_json_when_not_on_a_terminal_and_carry_the_request_ids(running):
    assert send(running.smtp, customer_mail())[0] == 250
    deadline = time.monotonic() + 60
    while "acknowledgement sent" not in running.log() and time.monotonic() < deadline:
        time.sleep(0.3)
    lines = [json.loads(line) for line in running.log().splitlines() if line.startswith("{")]
    assert len(lines) > 10  # every role's lines are JSON, not only some
    accepted = next(r for r in lines if r["message"] == "intake accepted")
    intake = accepted["intake_id"]
    filed = next(r for r in lines if r["message"] == "intake filed")
    sent = next(r for r in lines if r["message"] == "acknowledgement sent")
    assert accepted["role"] == "smtp" and filed["role"] == sent["role"] == "worker"
    assert filed["intake_id"] == sent["intake_id"] == intake
    assert sent["ticket"] == filed["ticket"] and isinstance(sent["ticket"], int)
    # Every line a worker writes while it handles this request names it.
    worker_lines = [r for r in lines if r["role"] == "worker" and r["name"] != "guichet.worker"]
    during = [r for r in worker_lines if r.get("intake_id") == intake or r.get("ack_id")]
    assert during and all(r["intake_id"] == intake for r in during)


def test_log_format_option_gives_readable_lines(tmp_path):
    run = GuichetRun.from_checkout(tmp_path / "home", tmp_path / "run.log")
    done = run.cli("--log-format", "text", "db", "upgrade")
    assert done.returncode == 0, done.stderr
    migration = next(line for line in done.stderr.splitlines() if "Running upgrade" in line)
    assert not migration.startswith("{") and " INFO " in migration
    assert "\x1b[" not in migration  # not a terminal: no colour codes


def _children_of(pid: int) -> list[int]:
    """Every process whose parent is `pid` (its direct children), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()  # noqa: SIM115 - one read
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2 :].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read()  # noqa: SIM115 - one read
    except OSError:
        return False
    return state[state.rindex(")") + 2] != "Z"  # a zombie has exited (its reaper is gone)


def test_a_run_killed_outright_takes_its_roles_and_redis_with_it_and_the_home_is_free_again(
    tmp_path,
):
    """SIGKILL leaves the supervisor no time to stop its children: they end by themselves
    (none left consuming, listening or holding the home's lock), and a new run starts."""
    run = GuichetRun.from_checkout(tmp_path / "home", tmp_path / "run.log")
    run.start()
    children = _children_of(run.process.pid)
    roles = [p for p in children if p != embedded_redis_pid(tmp_path / "home")]
    assert (
        len(roles) >= 3 and embedded_redis_pid(tmp_path / "home") in children
    )  # workers, smtp, web
    run.process.kill()
    run.process.wait()
    deadline = time.monotonic() + 90
    while any(_alive(p) for p in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p for p in children if _alive(p)], run.log()[-3000:]
    again = GuichetRun.from_checkout(tmp_path / "home", tmp_path / "again.log").start()
    assert send(again.smtp, customer_mail())[0] == 250
    assert again.stop() == 0, again.log()[-3000:]
