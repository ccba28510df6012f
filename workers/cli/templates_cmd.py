"""`guichet templates`: list, check and preview the acknowledgement templates."""

from __future__ import annotations

import click

from workers.acks import check as template_check
from workers.acks.render import templates_dir


@click.group()
def templates() -> None:
    """Acknowledgement templates (templates/, or GUICHET_TEMPLATES_DIR)."""


@templates.command("list")
def list_() -> None:
    """List the template files and what each is for."""
    for line in template_check.list_templates(templates_dir()):
        click.echo(line)


@templates.command("check")
def check() -> None:
    """Compile every template in the sandbox and render every scenario of the policy matrix.
    Exit code 1 when a problem is found (use it in CI before deploying an edit)."""
    problems = template_check.check_templates(templates_dir())
    for problem in problems:
        click.echo(str(problem), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(f"templates OK: {templates_dir()}")


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
    help="Receipt time (default: a moment that fits the scenario).",
)
def preview(name: str, scenario: str, at: str | None) -> None:
    """Render NAME (e.g. ack.fr) for one scenario and print subject, text and HTML."""
    click.echo(template_check.preview(name, scenario, at=at))


@templates.command("scenarios")
def scenarios() -> None:
    """List the scenario names that `check` renders and `preview` accepts."""
    for name in template_check.scenario_names():
        click.echo(name)
