"""`guichet fetch`: the IMAP edge as a command (its work is in `workers/cli/fetching.py`)."""

from __future__ import annotations

import click


@click.command()
def fetch() -> None:
    """Read the IMAP mailboxes of the settings (`[[mailboxes]]`) into intake: each message is
    stored, queued, then moved to the processed folder (or flagged). Waits with IDLE where the
    server offers it, polls otherwise; reconnects with back-off. Ctrl-C or SIGTERM finishes the
    message in hand and stops."""
    from workers.cli.fetching import run  # heavy imports only when the command runs

    run()
