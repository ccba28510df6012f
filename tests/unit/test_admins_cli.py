"""`guichet admins`: accounts from the command line, hashed, audited, with clear errors (exit 2)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from ingest.settings import get_settings
from tests.unit.test_cli import home  # noqa: F401 -- the same state folder per test
from workers.cli.main import cli
from workers.store import audit
from workers.store.engine import session_factory
from workers.store.schema_admin import AdminRow

pytestmark = pytest.mark.usefixtures("home")
PASSWORD = "une phrase de passe assez longue\n"


def run(*args, stdin=None):
    return CliRunner().invoke(cli, ["admins", *args], input=stdin)


def stored(name: str) -> AdminRow | None:
    with session_factory(get_settings().database)() as session:
        return session.query(AdminRow).filter_by(name=name).one_or_none()


def test_an_admin_is_added_listed_changed_and_removed_and_each_step_is_audited():
    added = run(
        "add", "camille", "--email", "camille@dri.example", "--password-stdin", stdin=PASSWORD
    )
    assert added.exit_code == 0, added.output
    row = stored("camille")
    assert row.password_hash.startswith("$argon2id$") and "phrase" not in row.password_hash
    listed = json.loads(run("list", "--json").output)
    assert [(a["name"], a["email"]) for a in listed] == [("camille", "camille@dri.example")]
    assert (
        run(
            "passwd", "camille", "--password-stdin", stdin="une autre phrase bien longue\n"
        ).exit_code
        == 0
    )
    assert stored("camille").password_hash != row.password_hash
    assert run("email", "camille", "c.martin@dri.example").exit_code == 0
    assert run("remove", "camille").exit_code == 0 and stored("camille") is None
    with session_factory(get_settings().database)() as session:
        actions = [a.action for a in audit.recent(session, 10)]
    assert actions == ["admin.remove", "admin.email", "admin.passwd", "admin.add"]


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (("add", "bad name", "--password-stdin"), PASSWORD, "not a valid admin name"),
        (("add", "camille", "--password-stdin"), "short\n", "at least 12 characters"),
        (
            ("add", "camille", "--email", "nope", "--password-stdin"),
            PASSWORD,
            "not an e-mail address",
        ),
        (("passwd", "nobody", "--password-stdin"), PASSWORD, "guichet admins list"),
        (("remove", "nobody"), None, "no admin 'nobody'"),
    ],
)
def test_a_mistake_says_what_is_wrong_and_exits_2_without_a_traceback(args, stdin, says):
    result = run(*args, stdin=stdin)
    assert result.exit_code == 2 and says in result.output
    assert "Traceback" not in result.output


def test_adding_an_existing_admin_is_refused():
    assert run("add", "camille", "--password-stdin", stdin=PASSWORD).exit_code == 0
    again = run("add", "camille", "--password-stdin", stdin=PASSWORD)
    assert again.exit_code == 2 and "guichet admins passwd camille" in again.output


def test_templates_diff_shows_what_admins_changed_against_the_shipped_files():
    from workers.admin.editing import TemplateDesk

    settings = get_settings()
    assert CliRunner().invoke(cli, ["templates", "diff"]).output == ""
    desk = TemplateDesk(session_factory(settings.database), settings.database)
    state = desk.state()
    shipped = state.sources["ack.en.txt.j2"]
    assert "The technical support team" in shipped
    edited = shipped.replace("The technical support team", "The support desk")
    assert desk.save("ack.en", {"ack.en.txt.j2": edited}, "team", "camille", state.version).stored
    shown = CliRunner().invoke(cli, ["templates", "diff"]).output
    assert "--- shipped/ack.en.txt.j2" in shown and "+++ live-v1/ack.en.txt.j2" in shown
    assert "-The technical support team" in shown and "+The support desk" in shown
    checked = CliRunner().invoke(cli, ["templates", "check", "--live"])
    assert checked.exit_code == 0 and "with the saved version v1" in checked.output
