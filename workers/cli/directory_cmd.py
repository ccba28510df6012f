"""`guichet directory`: import and list the customer directory."""

from __future__ import annotations

from pathlib import Path

import click

from ingest.settings import get_settings
from workers.store.directory import SqlDirectory, read_csv, store_accounts
from workers.store.engine import session_factory
from workers.store.migrate import upgrade


@click.group()
def directory() -> None:
    """Customer accounts and their declared contacts."""


@directory.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_(csv_file: Path) -> None:
    """Import accounts and contacts from CSV_FILE (header: client_number,company,contact_name,
    contact_email,services,coverage,gti; one row per contact). A file with any problem is refused
    whole, every problem listed by line; importing again updates accounts, never duplicates."""
    accounts, problems = read_csv(csv_file)
    if problems:
        for problem in problems:
            click.echo(f"{csv_file}: {problem}", err=True)
        raise click.ClickException(
            f"{len(problems)} problem(s); nothing imported. Fix the file and import again."
        )
    settings = get_settings()
    upgrade(settings.database)
    sessions = session_factory(settings.database)
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
    settings = get_settings()
    upgrade(settings.database)
    for account in SqlDirectory(session_factory(settings.database)).all():
        services = ", ".join(sorted(account.services))
        click.echo(
            f"{account.client_number}  {account.company}  [{account.coverage}, GTI {account.gti_minutes} min]  {services}"
        )
        for contact in account.contacts:
            click.echo(f"    {contact.name} <{contact.email or '-'}>")
