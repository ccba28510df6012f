"""`guichet explain` and `guichet eval`: dry runs of intake, no queue and no writes."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import click

from ingest.config_files import config_dir
from workers.cli.directory_cmd import load_csv
from workers.cli.errors import UserError
from workers.cli.output import print_json

DEMO_DIRECTORY = config_dir() / "directory-demo.csv"
CORPUS_DIRECTORY = "directory.csv"  # a corpus folder's own directory, when it has one
AT_HELP = "Receipt time to reason with, ISO-8601 (default: now; no offset = Europe/Paris)."


def _runtime():
    from ingest.settings import get_settings
    from workers.running.runtime import Runtime
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database)
    return Runtime(settings)


def _moment(_ctx, _param, value: str | None) -> datetime:
    """`--at`: an ISO-8601 moment, e.g. 2026-11-27T21:30 or 2026-11-27T21:30+01:00."""
    from workers.explaining import parse_at

    try:
        return parse_at(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO-8601 moment; accepted: 2026-11-27T21:30 (Europe/Paris), "
            "2026-11-27T20:30+00:00, or a date alone (2026-11-27, midnight)"
        ) from None


@click.command()
@click.argument("eml", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--at", "at", metavar="ISO-8601", callback=_moment, help=AT_HELP)
@click.option("--sender", help="Envelope sender (default: the file's Return-Path, else From).")
@click.option(
    "--to",
    "recipients",
    multiple=True,
    help="Envelope recipient (repeatable; default: our addresses in the headers).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def explain(
    eml: Path, at: datetime, sender: str | None, recipients: tuple[str, ...], as_json: bool
) -> None:
    """Show every intake decision on EML and why, and the acknowledgement that would be sent."""
    from workers.explaining import envelope_for_file
    from workers.explaining import explain as explain_message

    rt = _runtime()
    raw = eml.read_bytes()
    envelope = envelope_for_file(raw, rt, at, sender, list(recipients) or None)
    result = explain_message(rt, raw, envelope)
    if as_json:
        print_json(result)
        return
    _print_human(result)


def _print_human(r: dict) -> None:
    ident = r["identity"]
    click.echo(
        f"received   {r['received_at']}   from {r['envelope']['sender'] or '<>'} to {', '.join(r['envelope']['recipients'])}"
    )
    click.echo(
        f"identity   {ident['status']}  client={ident['client_number']}  contact={ident['contact_name']}  sender_authenticated={ident['sender_authenticated']}"
    )
    click.echo(
        f"urgency    {r['urgency']} (requested: {r['urgent_requested']})  → queue {r['queue']}"
    )
    click.echo(f"language   {r['language']}")
    click.echo(
        f"category   {json.dumps({k: v for k, v in r['category'].items() if v}, ensure_ascii=False)}"
    )
    click.echo(
        f"acknowledge {r['acknowledge']}"
        + (f"  (skip: {r['skip_reason']})" if r["skip_reason"] else "")
    )
    click.echo(f"sender     {r['sender_trust']['trust']}: {r['sender_trust']['why']}")
    click.echo(f"ack        {r['ack_variant']['variant']}: {r['ack_variant']['why']}")
    page = r["page"]
    click.echo(
        f"page       {page['at'] or 'none'}"
        + (f"  (limited: {page['limit']})" if page["limit_applies"] else "")
    )
    g = r["guidance"]
    click.echo(
        f"guidance   deadline={g['gti_deadline']}  page={g['oncall_page_at']}  phones={[p['number'] for p in g['phones']]}"
    )
    click.echo("\nwhy:")
    for f in r["trail"]:
        click.echo(f"  - [{f['rule']}] {f['field']} = {f['value']!r}: {f['why']}")
    if r["ack"]:
        click.echo(
            f"\nacknowledgement to {r['ack']['to']} ({r['ack']['scenario']}):\nSubject: {r['ack']['subject']}\n\n{r['ack']['text']}"
        )


@click.command("eval")
@click.argument("corpus", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option(
    "--at",
    "at",
    metavar="ISO-8601",
    callback=_moment,
    help="Receipt time for every message (default: now; no offset = Europe/Paris).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--misses/--no-misses", default=True, help="List every miss.")
@click.option(
    "--directory",
    "directory_csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="Directory CSV the corpus is labelled against (read in memory; the database is not "
    f"used). Default: CORPUS/{CORPUS_DIRECTORY} when the folder has one, else "
    "config/directory-demo.csv.",
)
def eval_corpus(
    corpus: Path, at: datetime, as_json: bool, misses: bool, directory_csv: Path | None
) -> None:
    """Measure intake accuracy on a labelled CORPUS (NNN-name.eml + NNN-name.json pairs):
    per-field accuracy, the misses, and the cost per message."""
    from ingest.analysis import Analyser
    from ingest.directory import MemoryDirectory
    from ingest.settings import get_settings
    from workers.evaluation import LabelError, cases, evaluate
    from workers.running.runtime import rules_for

    try:
        found = cases(corpus)
    except LabelError as exc:
        raise UserError(f"{exc}; each label is a JSON object, see tests/corpus") from None
    if not found:
        raise UserError(
            f"{corpus} holds no labelled case; accepted: a folder of NNN-name.eml files, "
            "each beside its NNN-name.json label"
        )
    directory_csv = directory_csv or corpus_directory(corpus)
    accounts, problems = load_csv(directory_csv)
    if problems:
        raise UserError(f"{directory_csv}: " + "; ".join(problems))
    analyser = Analyser(MemoryDirectory(accounts.values()), rules_for(get_settings()))
    if not as_json:
        click.echo(f"directory: {directory_csv}", err=True)
    result = evaluate(analyser, corpus, at, progress=not as_json)
    if as_json:
        print_json(result)
        return
    for field, score in result["accuracy"].items():
        click.echo(f"{field:18s} {score['correct']:4d}/{score['total']:<4d} {score['ratio']:7.2%}")
    click.echo(
        f"{'per message':18s} {result['ms_per_message']:.1f} ms (max {result['ms_max']:.1f} ms)"
    )
    if misses:
        for miss in result["misses"]:
            click.echo(
                f"  miss {miss['case']}: {miss['field']} expected {miss['expected']!r}, got {miss['got']!r}"
            )


def corpus_directory(corpus: Path) -> Path:
    """The corpus's own `directory.csv` when it has one, else the demo directory."""
    own = corpus / CORPUS_DIRECTORY
    return own if own.is_file() else DEMO_DIRECTORY
