"""`guichet templates`: list, check and preview the acknowledgement templates."""

from __future__ import annotations

import click

from workers.cli.errors import UserError


@click.group()
def templates() -> None:
    """Acknowledgement templates (templates/, or GUICHET_TEMPLATES_DIR)."""


@templates.command("list")
def list_() -> None:
    """List the template files and what each is for."""
    from workers.acks import check as template_check
    from workers.acks.render import templates_dir

    for line in template_check.list_templates(templates_dir()):
        click.echo(line)


@templates.command("check")
@click.option(
    "--live",
    is_flag=True,
    help="Check the shipped files with the versions saved from /admin on top (the database's "
    "live set): run it with a new release's files before upgrading.",
)
def check(live: bool) -> None:
    """Compile every template in the sandbox and render every scenario of the policy matrix.
    Exit code 1 when a problem is found (use it in CI before deploying an edit)."""
    from workers.acks import check as template_check
    from workers.acks.render import templates_dir

    where = str(templates_dir())
    if live:
        state = _live_state()
        problems = template_check.check_sources(state.sources)
        where += f" with the saved version v{state.version}" if state.version else ""
    else:
        problems = template_check.check_templates(templates_dir())
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"templates OK: {where}")


@templates.command("preview")
@click.argument("name")
@click.option(
    "--scenario",
    default="verified-urgent-offhours",
    show_default=True,
    help="See `guichet templates scenarios`.",
)
@click.option(
    "--at",
    "at",
    metavar="ISO-8601",
    help="Receipt time (default: a moment that fits the scenario; no offset = Europe/Paris).",
)
def preview(name: str, scenario: str, at: str | None) -> None:
    """Render NAME for one scenario and print subject, text and HTML. NAME is a language ("fr"),
    its templates ("ack.fr") or one of them ("ack.fr.txt")."""
    from datetime import datetime

    from workers.acks import check as template_check
    from workers.acks.scenarios import parse_scenario

    _check_name(name)
    try:
        parse_scenario(scenario)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--scenario'") from None
    try:
        moment = datetime.fromisoformat(at) if at else None
    except ValueError:
        raise click.BadParameter(
            f"{at!r} is not an ISO-8601 moment; accepted: 2026-11-27T21:00 (Europe/Paris) "
            "or 2026-11-27T20:00+00:00",
            param_hint="'--at'",
        ) from None
    try:
        click.echo(template_check.preview(name, scenario, at=moment))
    except ValueError as exc:  # e.g. no moment of the policy fits the scenario
        raise UserError(str(exc)) from None


def _check_name(name: str) -> None:
    from workers.acks.render import PARTS, load_sources, templates_dir
    from workers.acks.scenarios import list_templates

    files = list_templates(templates_dir())
    languages = sorted({f.language for f in files if f.language})
    parts = name.removeprefix("ack.").removesuffix(".j2").split(".")
    language, wanted = parts[0], parts[1:]
    sources = load_sources(templates_dir())
    known = language in languages and all(p in PARTS for p in wanted) and len(wanted) <= 1
    if not known or any(f"ack.{language}.{p}.j2" not in sources for p in wanted or PARTS):
        accepted = ", ".join(f"{lang}, ack.{lang}, ack.{lang}.txt" for lang in languages)
        raise click.BadParameter(
            f"no acknowledgement templates named {name!r}; accepted: {accepted} "
            f"(parts: {', '.join(PARTS)}); `guichet templates list` shows the files",
            param_hint="'NAME'",
        )


@templates.command("scenarios")
def scenarios() -> None:
    """List the scenario names that `check` renders and `preview` accepts."""
    from workers.acks import check as template_check

    for name in template_check.scenario_names():
        click.echo(name)


@templates.command("diff")
def diff() -> None:
    """Show where the live templates (versions saved from /admin, in the database) differ from
    the shipped files: a unified diff per file, shipped first. Nothing printed: they are the same."""
    import difflib

    from workers.acks.overlay import orphans

    state = _live_state()
    live = state.sources
    for name in sorted(n for n in state.shipped if state.shipped[n] != live[n]):
        lines = difflib.unified_diff(
            state.shipped[name].splitlines(keepends=True),
            live[name].splitlines(keepends=True),
            f"shipped/{name}",
            f"live-v{state.version}/{name}",
        )
        click.echo("".join(lines), nl=False)
    for name in orphans(state.shipped, state.overrides):
        click.echo(f"# {name}: saved in v{state.version} but no longer shipped; not used")


def _live_state():
    """The shipped files and the newest version saved from /admin (the database's live set)."""
    from ingest.settings import get_settings
    from workers.admin.editing import TemplateDesk
    from workers.store.engine import session_factory
    from workers.store.migrate import upgrade

    settings = get_settings()
    upgrade(settings.database)
    return TemplateDesk(session_factory(settings.database), settings.database).state()
