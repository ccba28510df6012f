"""`guichet directory`: import and list the customer directory."""

from __future__ import annotations

import csv
from pathlib import Path

import click

from workers.cli.errors import UserError


def load_csv(path: Path):
    """(accounts, problems) of a directory CSV; a file that is no UTF-8 CSV is a user error."""
    from workers.store.directory import HEADER, read_csv

    try:
        return read_csv(path)
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(
            f"{path} is not a UTF-8 CSV file ({exc}); expected a header line: {','.join(HEADER)}"
        ) from None


def _sessions():
    from ingest.settings import get_settings
    from workers.store.engine import session_factory
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database)
    return session_factory(settings.database)


@click.group()
def directory() -> None:
    """Customer accounts and their declared contacts."""


@directory.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(csv_file: Path) -> None:
    """Import accounts and contacts from CSV_FILE (header: client_number,company,contact_name,
    contact_email,services,coverage,gti; one row per contact). A file with any problem is refused
    whole, every problem listed by line; importing again updates accounts, never duplicates."""
    from workers.store.directory import store_accounts

    accounts, problems = load_csv(csv_file)
    if problems:
        for problem in problems:
            click.echo(f"{csv_file}: {problem}", err=True)
        raise UserError(
            f"{len(problems)} problem(s); nothing imported. Fix the file and import again."
        )
    sessions = _sessions()
    with (
        sessions.begin() as session,
        click.progressbar(
            list(accounts.values()),
            label="importing accounts",
            file=click.get_text_stream("stderr"),
        ) as bar,
    ):
        report = store_accounts(session, bar)
    click.echo(f"imported {report.accounts} account(s), {report.contacts} contact(s)")


@directory.command("list")
def list_() -> None:
    """List accounts, their contract and their declared contacts."""
    from workers.store.directory import SqlDirectory

    for account in SqlDirectory(_sessions()).all():
        services = ", ".join(sorted(account.services))
        click.echo(
            f"{account.client_number}  {account.company}  [{account.coverage}, GTI {account.gti_minutes} min]  {services}"
        )
        for contact in account.contacts:
            click.echo(f"    {contact.name} <{contact.email or '-'}>")
