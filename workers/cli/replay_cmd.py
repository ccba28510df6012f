"""`guichet replay PATH`: an archive through intake (its work is in `workers/cli/replaying.py`)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--ack/--no-ack",
    default=False,
    show_default=True,
    help="Send acknowledgements for replayed mail (off by default: nobody wants one for last "
    "year's mail).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what would be decided for each message; store and queue nothing.",
)
@click.option(
    "--json", "as_json", is_flag=True, help="With --dry-run: one `guichet explain --json` per line."
)
@click.option(
    "--restart",
    is_flag=True,
    help="Start from the first message, not from the checkpoint (mail already taken in is still "
    "skipped).",
)
def replay(path: Path, ack: bool, dry_run: bool, as_json: bool, restart: bool) -> None:
    """Replay PATH — an mbox file, a Maildir, a folder of .eml files, or one .eml — through
    intake, as if each message had just arrived: identified, classified, ticketed.

    Each ticket keeps the message's own Date as its receipt time; replayed mail never pages
    on-call and, unless --ack, is never acknowledged. Mail already taken in (same bytes) is
    skipped, so a replay run twice adds nothing. An interrupted replay continues where it
    stopped: run the same command again. Needs the queue: `guichet run` in this folder, or
    REDIS_URL.
    """
    from workers.cli.replaying import run  # heavy imports only when the command runs

    run(path, ack, dry_run, as_json, restart)
