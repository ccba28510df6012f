"""`guichet partners`: partner systems allowed to POST webhooks, and their signing secrets."""

from __future__ import annotations

import re
import sys
from datetime import timedelta

import click

from workers.cli.errors import UserError

DURATION = re.compile(r"^(\d+)\s*([smhd])$")
UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _store():
    from ingest.settings import get_settings
    from workers.store.engine import session_factory
    from workers.store.migrate import upgrade
    from workers.store.partners import SqlPartners, secret_box

    settings = get_settings()
    upgrade(settings.database)
    return SqlPartners(session_factory(settings.database), secret_box(settings.home))


def _duration(_ctx, _param, value: str) -> timedelta:
    match = DURATION.match(value.strip())
    if not match:
        raise click.BadParameter("a number and a unit: 90s, 30m, 24h, 7d")
    return timedelta(**{UNITS[match.group(2)]: int(match.group(1))})


def _clients(_ctx, _param, value: str | None) -> list[str]:
    numbers = [v.strip() for v in (value or "").split(",") if v.strip()]
    bad = [n for n in numbers if not re.fullmatch(r"\d{5}", n)]
    if bad:
        raise click.BadParameter(
            f"{', '.join(bad)}: client numbers are 5 digits, comma-separated (e.g. 20481,42118)"
        )
    return numbers


def _unknown_clients(numbers: list[str]) -> list[str]:
    """The numbers that are no account of the directory (a typo would lock the partner out)."""
    from ingest.settings import get_settings
    from workers.store.directory import SqlDirectory
    from workers.store.engine import session_factory
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database)
    directory = SqlDirectory(session_factory(settings.database))
    return [n for n in numbers if directory.account(n) is None]


def _show(name: str, secret: str) -> None:
    click.echo(f"secret for {name} (shown once, store it now):\n{secret}")


def _run(action):
    from workers.store.partners import PartnerError

    try:
        return action()
    except PartnerError as error:
        raise UserError(f"{error}; `guichet partners list` shows the partners") from None


@click.group()
def partners() -> None:
    """Partner systems: add, list, rotate a secret, revoke."""


@partners.command("add")
@click.argument("name")
@click.option(
    "--clients", callback=_clients, help="Restrict to these client numbers (comma-separated)."
)
@click.option(
    "--import-secret",
    is_flag=True,
    help="Read the provider's own signing key from stdin (e.g. Mailgun).",
)
def add(name: str, clients: list[str], import_secret: bool) -> None:
    """Create partner NAME with a new secret (whsec_…), printed once."""
    unknown = _unknown_clients(clients)
    if unknown:
        raise click.BadParameter(
            f"{', '.join(unknown)} not in the directory; accepted: client numbers of imported "
            "accounts (see `guichet directory list`)",
            param_hint="'--clients'",
        )
    imported = sys.stdin.readline().strip() if import_secret else None
    secret = _run(lambda: _store().add(name, clients, imported))
    if not imported:
        _show(name, secret)


@partners.command("list")
def list_partners() -> None:
    """Partners, their accounts and active secrets (a fingerprint, never the secret)."""
    from workers.escalation.policy import default_policy

    zone = default_policy().timezone
    for view in _store().list():
        state = "revoked" if view.revoked else ", ".join(view.clients) or "all accounts"
        secrets = ", ".join(
            fingerprint
            + (
                f" valid until {until.astimezone(zone):%Y-%m-%d %H:%M %Z} ({zone.key})"
                if until
                else ""
            )
            for fingerprint, until in view.secrets
        )
        click.echo(f"{view.name}\t{state}\t{secrets or 'no active secret'}")


@partners.command("rotate")
@click.argument("name")
@click.option(
    "--keep-old-for",
    default="24h",
    callback=_duration,
    show_default=True,
    help="How long current secrets stay valid.",
)
@click.option(
    "--import-secret", is_flag=True, help="Read the provider's new signing key from stdin."
)
def rotate(name: str, keep_old_for: timedelta, import_secret: bool) -> None:
    """Issue a new secret for NAME; the current ones expire after --keep-old-for."""
    imported = sys.stdin.readline().strip() if import_secret else None
    secret = _run(lambda: _store().rotate(name, keep_old_for, imported))
    if not imported:
        _show(name, secret)


@partners.command("revoke")
@click.argument("name")
def revoke(name: str) -> None:
    """Revoke NAME and every one of its secrets at once."""
    _run(lambda: _store().revoke(name))
    click.echo(f"{name} revoked")
