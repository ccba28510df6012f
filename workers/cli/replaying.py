"""What `guichet replay` runs: an archive read into intake through the shared funnel."""

from __future__ import annotations

import asyncio
import hashlib
import json
import signal
from datetime import UTC, datetime
from pathlib import Path

import click

from ingest.analysis import adjusted
from ingest.edges.archives import Archive, ArchivedMail, ArchiveError, open_archive
from ingest.edges.replay import (
    Replay,
    ReplayStopped,
    Tally,
    archive_adjustment,
    replay_envelope,
    resume_point,
)
from ingest.settings import Settings, get_settings
from workers.cli.sources import address_book, require_queue, stored_intake
from workers.escalation.contract import guidance_for_decision
from workers.explaining import report
from workers.running import logs
from workers.running.runtime import Runtime
from workers.store.engine import session_factory
from workers.store.mail_sources import SqlCheckpoints, SqlLedger
from workers.store.migrate import upgrade


def run(path: Path, ack: bool, dry_run: bool, as_json: bool, restart: bool) -> None:
    """`guichet replay PATH` with its options."""
    settings = get_settings()
    logs.setup(settings.log_format, level="WARNING", role="replay")
    try:
        archive = open_archive(path.resolve())
    except (ArchiveError, OSError) as exc:
        raise click.BadParameter(str(exc), param_hint="PATH") from None
    upgrade(settings.database)
    if dry_run:
        _dry_run(Runtime(settings), archive, ack, as_json)
        return
    require_queue(settings)
    tally = _replay(settings, archive, ack, restart)
    if tally is not None:
        click.echo(
            f"{archive.path}: {tally.taken} taken in ({tally.rejected} unreadable, kept for "
            f"review), {tally.duplicates} already there"
        )


def _replay(settings: Settings, archive: Archive, ack: bool, restart: bool) -> Tally | None:
    checkpoints = SqlCheckpoints(session_factory(settings.database))
    start = 0 if restart else resume_point(archive, checkpoints)
    if start == len(archive):
        click.echo(
            f"all {start} messages of {archive.path} were replayed before: nothing new "
            "(--restart checks each again; what is already taken in is still skipped)"
        )
        return None
    if start:
        click.echo(f"resuming {archive.path} at message {start + 1} of {len(archive)}", err=True)
    stored, parser = stored_intake(settings, archive_adjustment(ack))
    runner = Replay(stored, checkpoints, address_book(settings), settings.support_addresses[0])
    try:
        with _bar(archive, start) as bar:
            tally = asyncio.run(_until_interrupted(runner, archive, start, bar))
    except ReplayStopped as exc:
        raise click.ClickException(f"{exc}; run the same command again to continue") from None
    except KeyboardInterrupt:
        tally = Tally(interrupted=True)
    finally:
        parser.close()
    if tally.interrupted:
        click.echo("\ninterrupted: run the same command again to continue", err=True)
        raise SystemExit(130)
    return tally


async def _until_interrupted(runner: Replay, archive: Archive, start: int, bar) -> Tally:
    """Ctrl-C or SIGTERM: finish the message in hand, save the checkpoint, stop (a second
    Ctrl-C stops at once)."""
    stopping, loop = asyncio.Event(), asyncio.get_running_loop()

    def first_interrupt() -> None:
        stopping.set()
        loop.remove_signal_handler(signal.SIGINT)

    loop.add_signal_handler(signal.SIGINT, first_interrupt)
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    return await runner.run(archive, start, lambda _m, _t: bar.update(1), stopping)


def _bar(archive: Archive, start: int):
    bar = click.progressbar(
        length=len(archive),
        label=f"replaying {archive.kind}",
        show_pos=True,
        file=click.get_text_stream("stderr"),
    )
    bar.update(start)
    return bar


def _dry_run(rt: Runtime, archive: Archive, ack: bool, as_json: bool) -> None:
    """Every message as `guichet explain` sees it, with what replay changes; nothing written."""
    ledger, adjust = SqlLedger(rt.sessions), archive_adjustment(ack)
    book, default = address_book(rt.settings), rt.settings.support_addresses[0]
    now = datetime.now(UTC)
    for mail in archive.mails():
        envelope = replay_envelope(archive, mail, book, default, now)
        analysis = adjusted(rt.analyser.mail(mail.raw, envelope), adjust)
        guidance = guidance_for_decision(analysis.decision, rt.directory, envelope.received_at)
        result = report(rt, analysis, guidance, envelope)
        result["replay"] = _replay_facts(mail, ledger)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False, default=str))
        else:
            click.echo(_line(result, analysis.content.subject if analysis.content else ""))


def _replay_facts(mail: ArchivedMail, ledger: SqlLedger) -> dict:
    known = ledger.taken(hashlib.sha256(mail.raw).hexdigest())
    return {"position": mail.position + 1, "label": mail.label, "already_taken_in": known}


def _line(r: dict, subject: str) -> str:
    facts, ident = r["replay"], r["identity"]
    if facts["already_taken_in"]:
        verdict = f"already taken in (intake {facts['already_taken_in']}): skipped"
    else:
        ack = "ack" if r["acknowledge"] else f"no ack ({r['skip_reason']})"
        who = f"{ident['status']} {ident['client_number'] or '-'}"
        verdict = f"{who}  {r['urgency']}  {ack}" + ("  REVIEW" if r["parse_error"] else "")
    return (
        f"{facts['position']:>6}  {r['received_at'][:16]}  {r['envelope']['sender'] or '<>'}  "
        f"{verdict}  {json.dumps(subject[:60], ensure_ascii=False)}"
    )
