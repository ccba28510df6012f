"""`guichet tickets`: what intake created — tickets, their messages, acknowledgements and trail."""

from __future__ import annotations

import json

import click

from workers.cli.errors import UserError
from workers.cli.output import print_json


def _sessions():
    from ingest.settings import get_settings
    from workers.store.engine import session_factory
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database)
    return session_factory(settings.database)


@click.group()
def tickets() -> None:
    """Inspect tickets: what intake created, with messages, acknowledgements and the intake trail."""


@tickets.command("list")
@click.option(
    "--limit",
    default=50,
    show_default=True,
    type=click.IntRange(min=1),
    help="Newest first, at most this many.",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_(limit: int, as_json: bool) -> None:
    """List the newest tickets."""
    from workers.store.queries import list_tickets

    with _sessions()() as session:
        rows = list_tickets(session, limit)
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no tickets yet — send a mail to the SMTP listener (see README)")
    for t in rows:
        flag = "" if t["authorised"] else "  [not authorised]"
        click.echo(
            f"#{t['number']}  {t['created_at'][:19]}  {t['urgency']:7s}  {t['identity_status']:10s}  {t['client_number'] or '-':5s}  {t['requester']}  {t['subject']}{flag}"
        )


@tickets.command("show")
@click.argument("number", type=int)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def show(number: int, as_json: bool) -> None:
    """Show ticket NUMBER with its messages, acknowledgements, pages, links and intake trail."""
    from workers.store.queries import ticket_detail

    with _sessions()() as session:
        detail = ticket_detail(session, number)
    if detail is None:
        raise UserError(
            f"no ticket #{number}; accepted: the number of an existing ticket (6 digits or more), "
            "see `guichet tickets list`"
        )
    if as_json:
        print_json(detail)
        return
    _print(detail)


def _print(d: dict) -> None:
    click.echo(f"Ticket #{d['number']} — {d['subject']}")
    for key in (
        "status",
        "created_at",
        "requester",
        "client_number",
        "identity_status",
        "authorised",
        "contact_name",
        "sender_authenticated",
        "sender_trust",
        "urgency",
        "urgent_requested",
        "language",
        "gti_deadline",
        "review",
    ):
        click.echo(f"  {key:20s} {d[key]}")
    click.echo(
        f"  {'category':20s} {json.dumps({k: v for k, v in d['category'].items() if v}, ensure_ascii=False)}"
    )
    for m in d["messages"]:
        click.echo(f"\n--- message {m['message_id']} from {m['sender']} at {m['created_at']}")
        click.echo(m["text"][:2000])
        for defect in m.get("defects") or ():
            click.echo(f"  [defect] {defect}")
        for a in m["attachments"]:
            click.echo(
                f"  [attachment] {a.get('filename')} {a.get('content_type')} {a.get('size')} bytes"
            )
    click.echo("\nacknowledgements:")
    for a in d["acknowledgements"]:
        click.echo(
            f"  {a['status']:8s} {a['kind']:10s} to {a['recipient'] or '-'} {a['skip_reason'] or ''} {a['subject'] or ''}"
        )
    for link in d.get("links") or ():
        click.echo(f"linked: {link['kind']} ticket #{link['number']}")
    for p in d["pages"]:
        click.echo(f"on-call page: {p['status']} due {p['due_at']} sent {p['sent_at']}")
    click.echo("\ntrail:")
    for e in d["trail"]:
        click.echo(
            f"  {e['at'][:19]}  {e['kind']:16s} {json.dumps(e['detail'], ensure_ascii=False, default=str)[:300]}"
        )
