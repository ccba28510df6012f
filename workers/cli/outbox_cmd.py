"""`guichet outbox`: the acknowledgements written to the embedded Maildir outbox, decoded."""

from __future__ import annotations

import click

from workers.cli.errors import UserError


def _outbox():
    from ingest.settings import get_settings

    settings = get_settings()
    return settings.outbox, settings.smtp_relay


@click.group()
def outbox() -> None:
    """Acknowledgements written to the Maildir outbox ($GUICHET_HOME/outbox) when no relay is set."""


@outbox.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(as_json: bool) -> None:
    """List the acknowledgements, oldest first, with the number `show` takes."""
    from workers.acks.outbox import read_outbox
    from workers.cli.output import print_json

    path, relay = _outbox()
    mails = read_outbox(path)
    if as_json:
        print_json([m.summary() for m in mails])
        return
    if not mails:
        where = f"; acknowledgements go to the relay {relay}" if relay else ""
        click.echo(f"no acknowledgement in {path}{where}")
    for mail in mails:
        s = mail.summary()
        click.echo(f"{s['number']:>4}  {s['date']}  to {s['to']}  {s['subject']}")


@outbox.command("show")
@click.argument("number", type=int)
@click.option("--html", "part", flag_value="html", help="Print the HTML part instead of the text.")
@click.option("--raw", "part", flag_value="raw", help="Print the file as it is stored.")
def show(number: int, part: str | None) -> None:
    """Show acknowledgement NUMBER (see `guichet outbox list`): its headers and its text, decoded."""
    from workers.acks.outbox import SHOWN_HEADERS, mail_files, read_one

    path, _ = _outbox()
    mail = read_one(path, number)
    if mail is None:
        count = len(mail_files(path))
        accepted = f"a number from 1 to {count}" if count else "none: the outbox is empty"
        raise UserError(f"no acknowledgement #{number} in {path}; accepted: {accepted}")
    if part == "raw":
        click.echo(mail.path.read_bytes().decode("utf-8", "replace"))
        return
    for name in SHOWN_HEADERS:
        if mail.header(name):
            click.echo(f"{name}: {mail.header(name)}")
    click.echo()
    click.echo(mail.part(part or "plain") or f"(no {part or 'plain'} part)")
