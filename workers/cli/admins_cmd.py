"""`guichet admins`: the support admins who sign in to /admin (add, list, passwd, email, remove)."""

from __future__ import annotations

import getpass
import sys

import click

from workers.cli.errors import UserError

# Heavy modules (SQLAlchemy, Argon2, the store) are imported when a command runs, so that
# `guichet --help` stays fast.


def _sessions():
    from ingest.settings import get_settings
    from workers.store.engine import session_factory
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database)
    return session_factory(settings.database)


def _actor() -> str:
    """Who ran the command, as the audit log shows it."""
    try:
        return f"cli:{getpass.getuser()}"[:64]
    except OSError:
        return "cli"


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _run(step_name: str, *args) -> None:
    """Call `workers.admin.accounts.<step_name>`; its refusals are the user's to fix (exit 2)."""
    from workers.admin import accounts
    from workers.admin.passwords import WeakPassword

    try:
        getattr(accounts, step_name)(*args)
    except (accounts.AccountError, WeakPassword) as exc:
        raise UserError(str(exc)) from None


STDIN_HELP = "Read the password from the first line of standard input (scripts) instead of asking."


@click.group()
def admins() -> None:
    """Support admins of the /admin console. Passwords are stored as Argon2 hashes only;
    every change is in the audit log."""


@admins.command("add")
@click.argument("name")
@click.option("--email", help="Where `Send me a test` mails go.")
@click.option("--password-stdin", is_flag=True, help=STDIN_HELP)
def add(name: str, email: str | None, password_stdin: bool) -> None:
    """Create admin NAME; asks for a password (12 characters at least) twice."""
    sessions = _sessions()
    _run("add_admin", sessions, name, _password(password_stdin), email, _actor())
    click.echo(f"admin {name} added; sign in at /admin on the web app")


@admins.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """List the admins with their address, last sign-in and lock state."""
    from workers.cli.output import print_json
    from workers.store import admins as admin_store
    from workers.store.schema import utcnow

    with _sessions()() as session:
        rows = admin_store.all_admins(session)
    fields = ("name", "email", "created_at", "last_login_at", "failed_logins", "locked_until")
    if as_json:
        print_json([{f: getattr(r, f) for f in fields} for r in rows])
        return
    if not rows:
        click.echo("no admins yet — `guichet admins add NAME --email ADDRESS`")
    for r in rows:
        last = f"{r.last_login_at:%Y-%m-%d %H:%M}" if r.last_login_at else "never"
        waiting = r.locked_until and r.locked_until > utcnow()
        locked = f"  [locked until {r.locked_until:%H:%M:%S} UTC]" if waiting else ""
        click.echo(f"{r.name:20s} {r.email or '-':30s} last sign-in {last}{locked}")


@admins.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help=STDIN_HELP)
def passwd(name: str, password_stdin: bool) -> None:
    """Set a new password for NAME; clears its lock and signs it out everywhere."""
    sessions = _sessions()
    _run("set_password", sessions, name, _password(password_stdin), _actor())
    click.echo(f"password of {name} changed; its sessions are closed")


@admins.command("email")
@click.argument("name")
@click.argument("address")
def email(name: str, address: str) -> None:
    """Set the e-mail ADDRESS of NAME (where its test mails go)."""
    _run("set_email", _sessions(), name, address, _actor())
    click.echo(f"{name} now receives test mails at {address}")


@admins.command("remove")
@click.argument("name")
def remove(name: str) -> None:
    """Remove admin NAME and close its sessions (its past changes stay in the history)."""
    _run("remove_admin", _sessions(), name, _actor())
    click.echo(f"admin {name} removed")
