"""The editor's live preview: one scenario of the `templates check` matrix rendered as the customer sees it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from workers.acks.check import Case, Problem, check_output, render_case
from workers.acks.render import CompiledSet
from workers.acks.scenarios import (
    coverages_for,
    parse_scenario,
    preview_context,
    scenario_cases,
    scenario_names,
)
from workers.escalation.policy import default_policy

__all__ = ["preview", "scenario_names", "variables", "parse_moment", "default_scenario"]
PREFERRED = "verified-urgent-offhours"  # the richest acknowledgement: deadline, lines, fees


def default_scenario() -> str:
    names = scenario_names()
    return PREFERRED if PREFERRED in names else names[0]


def parse_moment(value: str | None) -> datetime | None:
    """A moment typed by the admin (`2026-11-27T21:00`, policy time zone); None when empty."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a date and time (e.g. 2026-11-27T21:00)") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=default_policy().timezone)


def _case(scenario: str, language: str, at: datetime | None) -> Case:
    """The check's own case for this scenario (whatever fields it carries), with the preview's
    context: the moment typed by the admin, or one that fits the scenario."""
    policy = default_policy()
    spec = parse_scenario(scenario)
    context = preview_context(spec, language, at, policy=policy)
    for case in scenario_cases([language]):
        if case.spec == spec:
            return replace(case, context=context)
    coverage = coverages_for(spec, policy)[0]
    return Case(spec=spec, coverage=coverage, language=language, context=context)


def preview(sources: dict[str, str], language: str, scenario: str, at: str | None) -> dict:
    """Subject, text, HTML and this scenario's problems, for the sources being edited."""
    try:
        case = _case(scenario, language, parse_moment(at))
    except ValueError as exc:
        problem = Problem("", scenario, str(exc))
        return {"subject": "", "text": "", "html": "", "problems": [problem], "variables": []}
    out, problems = render_case(CompiledSet(sources), case, case.context)
    if not problems:
        problems = check_output(case, out, default_policy())
    return {
        "subject": out.get("subject", ""),
        "text": out.get("txt", ""),
        "html": out.get("html", ""),
        "scenario": case.context.get("scenario", scenario),
        "problems": problems,
        "variables": variables(case.context),
    }


def variables(context: dict, prefix: str = "") -> list[tuple[str, str]]:
    """Every variable of the context by its dotted name, with the example value it has here."""
    rows: list[tuple[str, str]] = []
    for key, value in context.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += variables(value, name + ".")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for i, item in enumerate(value):
                rows += variables(item, f"{name}[{i}].")
        else:
            rows.append((name, shown(value)))
    return rows


def shown(value) -> str:
    """A value as a template author thinks of it (Jinja's none / true / false)."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M} ({value.tzname()})"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
