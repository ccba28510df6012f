"""`guichet templates check`: compile every template and render the whole scenario matrix."""

from __future__ import annotations

import re
import tomllib
import traceback
from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SecurityError

from workers.acks.render import (
    DATES_FILE,
    PARTS,
    CompiledSet,
    clean_subject,
    format_moment,
    load_sources,
    template_name,
    templates_dir,
)
from workers.acks.scenarios import (  # noqa: F401 -- re-exported for `guichet templates`
    LINK_PROBE,
    Case,
    list_templates,
    preview,
    preview_parts,
    scenario_cases,
    scenario_names,
)
from workers.escalation.policy import Policy, default_policy

REQUIRED_LANGUAGES = ("fr", "en")
PROBE = '<b data-probe="1">'  # from the sample subject: must come out escaped in HTML
TEXT_BEGIN = re.compile(r"-{5,} \S.* -{5,}")
TEXT_END = re.compile(r"-{5,}")
HTML_BEGIN = re.compile(r'<section\b[^>]*\bid="guidance"[^>]*>')
PHONE_LIKE = re.compile(r"(?:\+|\b0)\d(?:[ .\-]?\d){8,}")
_SEPARATORS = re.compile(r"[ .\-]")
DATE_LAYOUTS = ("date", "time", "datetime")


@dataclass(frozen=True)
class Problem:
    """One reason to refuse a template set: which file, which scenario, what to fix."""

    file: str
    scenario: str
    message: str

    def __str__(self) -> str:
        where = f" [{self.scenario}]" if self.scenario else ""
        return f"{self.file}{where}: {self.message}"


def languages_of(sources: dict[str, str]) -> list[str]:
    found = {name.split(".")[1] for name in sources if re.fullmatch(r"ack\.\w+\.txt\.j2", name)}
    return sorted(found | set(REQUIRED_LANGUAGES))


def check_files(sources: dict[str, str]) -> list[Problem]:
    """Every language needs its subject, text and HTML template."""
    return [
        Problem(
            template_name(lang, part), "", "missing; every language needs subject, txt and html"
        )
        for lang in languages_of(sources)
        for part in PARTS
        if template_name(lang, part) not in sources
    ]


def check_dates(sources: dict[str, str], languages: list[str]) -> list[Problem]:
    try:
        tables = tomllib.loads(sources.get(DATES_FILE, ""))
    except tomllib.TOMLDecodeError as exc:
        return [Problem(DATES_FILE, "", f"not valid TOML ({exc})")]
    problems = []
    for lang in languages:
        table = tables.get(lang, {})
        if len(table.get("weekdays", [])) != 7 or len(table.get("months", [])) != 12:
            problems.append(Problem(DATES_FILE, "", f"[{lang}] needs 7 weekdays and 12 months"))
        missing = [k for k in DATE_LAYOUTS if not isinstance(table.get(k), str)]
        if missing:
            problems.append(Problem(DATES_FILE, "", f"[{lang}] needs the layouts {missing}"))
    return problems


def check_syntax(compiled: CompiledSet) -> list[Problem]:
    problems = []
    for name in compiled.sources:
        if not name.endswith(".j2"):
            continue
        try:
            compiled.env.get_template(name)
        except TemplateSyntaxError as exc:
            problems.append(Problem(name, "", f"line {exc.lineno}: {exc.message}"))
    return problems


def check_literals(sources: dict[str, str], policy: Policy) -> list[Problem]:
    """Policy values written into a template go stale: they must come from the context."""
    values = {line.number: "guidance.phones" for line in policy.lines}
    values.update(
        {policy.incidents_url: "links.incidents_url", policy.portal_url: "links.portal_url"}
    )
    return [
        Problem(name, "", f"writes {value!r} by hand; use {{{{ {key} }}}} from the context")
        for name, text in sources.items()
        if name.endswith(".j2")
        for value, key in values.items()
        if value and value in text
    ]


def _where(exc: Exception, fallback: str) -> str:
    """The innermost template file (and line) in the error's traceback."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.endswith(".j2")]
    return f"{frames[-1].filename} line {frames[-1].lineno}" if frames else fallback


def _explain(exc: Exception) -> str:
    if isinstance(exc, UndefinedError):
        return f"{exc.message}; see docs/templates.md for the variables of the context"
    if isinstance(exc, SecurityError):
        return f"not allowed in the sandbox: {exc}"
    return f"{type(exc).__name__}: {exc}"


def render_case(compiled: CompiledSet, case: Case, context: dict) -> tuple[dict, list[Problem]]:
    """Each part rendered on its own, so an error names its file."""
    out, problems = {}, []
    for part in PARTS:
        name = template_name(case.language, part)
        try:
            out[part] = compiled.render_part(context, case.language, part)
        except (TemplateError, TypeError, ValueError, KeyError, AttributeError) as exc:
            problems.append(Problem(_where(exc, name), case.label, _explain(exc)))
    if "subject" in out:
        out["subject"] = clean_subject(out["subject"])
    return out, problems


def has_text_block(text: str) -> bool:
    """A "----- title -----" line, then non-blank lines, then a line of dashes."""
    lines = [line.strip() for line in text.splitlines()]
    begins = [i for i, line in enumerate(lines) if TEXT_BEGIN.fullmatch(line)]
    for start in begins:
        ends = [i for i in range(start + 1, len(lines)) if TEXT_END.fullmatch(lines[i])]
        if ends and any(lines[start + 1 : ends[0]]):
            return True
    return False


def has_html_block(html: str) -> bool:
    """A <section id="guidance"> with some text before its </section>."""
    begin = HTML_BEGIN.search(html)
    end = html.find("</section>", begin.end()) if begin else -1
    return end > 0 and bool(re.sub(r"<[^>]*>", "", html[begin.end() : end]).strip())


def _digits(text: str) -> str:
    return _SEPARATORS.sub("", text)


def _phones_found(text: str, policy: Policy) -> list[str]:
    flat = _digits(text)
    known = [line.number for line in policy.lines if _digits(line.number) in flat]
    return known or PHONE_LIKE.findall(text)


def _fail(case: Case, part: str, message: str) -> Problem:
    return Problem(template_name(case.language, part), case.label, message)


def check_output(case: Case, out: dict, policy: Policy) -> list[Problem]:
    """What the procedure requires of every acknowledgement, scenario by scenario."""
    ctx, problems = case.context, []
    if ctx["ticket"]["tag"] not in out["subject"]:
        problems.append(_fail(case, "subject", "must carry {{ ticket.tag }} so replies thread"))
    if PROBE in out["html"]:
        problems.append(_fail(case, "html", "customer text is not escaped; remove |safe"))
    for part, has_block in (("txt", has_text_block), ("html", has_html_block)):
        text = out[part]
        required = {
            "the ticket number {{ ticket.number }}": ctx["ticket"]["number"] in text,
            "the link {{ links.incidents_url }}": ctx["links"]["incidents_url"] in text,
            "the guidance block (see docs/templates.md)": has_block(text),
        }
        problems += [
            _fail(case, part, f"{what} is missing") for what, ok in required.items() if not ok
        ]
        problems += _phone_problems(case, part, text, policy)
    return problems


def _phone_problems(case: Case, part: str, text: str, policy: Policy) -> list[Problem]:
    phones = case.context["guidance"]["phones"]
    if not phones:
        found = _phones_found(text, policy)
        return [_fail(case, part, f"phone number {n} must not appear here") for n in found]
    missing = [p["number"] for p in phones if _digits(p["number"]) not in _digits(text)]
    return [_fail(case, part, f"urgent guidance must list {n}") for n in missing]


def check_case(compiled: CompiledSet, case: Case, policy: Policy) -> list[Problem]:
    out, problems = render_case(compiled, case, case.context)
    if problems:
        return problems
    problems = check_output(case, out, policy) + _deadline_problems(compiled, case, out)
    problems += _minimal_problems(case, out)
    if case.twin is not None:
        twin, _ = render_case(compiled, case, case.twin)
        if twin != out:
            message = "unknown number and wrong name must get the same text (no account data)"
            if case.spec.variant == "minimal":
                message = "a minimal acknowledgement must not depend on who the sender is"
            problems.append(_fail(case, "txt", message))
    return problems


def _minimal_problems(case: Case, out: dict) -> list[Problem]:
    """A minimal acknowledgement repeats no link of the request (use request.subject only)."""
    if case.spec.variant != "minimal":
        return []
    host = LINK_PROBE.split("//")[1].split("/")[0]
    return [
        _fail(case, part, f"repeats a link of the request ({host}); use {{{{ request.subject }}}}")
        for part, text in out.items()
        if host in text
    ]


def _deadline_problems(compiled: CompiledSet, case: Case, out: dict) -> list[Problem]:
    deadline = case.context["guidance"]["gti_deadline"]
    if deadline is None:
        return []
    table = compiled.env.globals["date_tables"][case.language]
    shown = format_moment(deadline, "datetime", table)
    # Compared with whitespace collapsed: the text part is wrapped, a date may span two lines.
    missing = [part for part in ("txt", "html") if shown not in " ".join(out[part].split())]
    return [_fail(case, part, f"the GTI deadline ({shown}) is not stated") for part in missing]


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, kept = set(), []
    for problem in problems:
        if (problem.file, problem.message) not in seen:
            seen.add((problem.file, problem.message))
            kept.append(problem)
    return kept


def check_sources(sources: dict[str, str], policy: Policy | None = None) -> list[Problem]:
    """Every reason to refuse this set; an empty list means it may go live."""
    return checked_set(sources, policy)[1]


def checked_set(
    sources: dict[str, str], policy: Policy | None = None
) -> tuple[CompiledSet | None, list[Problem]]:
    """(the set, no problem) when it may go live, else (None, every reason to refuse it). The
    set returned is the one the check compiled and rendered every scenario with: live, its
    first acknowledgement of each kind compiles nothing more."""
    policy = policy or default_policy()
    languages = languages_of(sources)
    problems = check_files(sources) + check_dates(sources, languages)
    if problems:
        return None, problems
    compiled = CompiledSet(sources)
    problems = check_syntax(compiled) + check_literals(sources, policy)
    if problems:
        return None, problems
    for case in scenario_cases(languages, None if policy is default_policy() else policy):
        problems += check_case(compiled, case, policy)
    return (None, _dedupe(problems)) if problems else (compiled, [])


def check_templates(directory: Path | str | None = None) -> list[Problem]:
    """Check the template directory (default: the live one) as the hot reload would."""
    return check_sources(load_sources(Path(directory or templates_dir())))
