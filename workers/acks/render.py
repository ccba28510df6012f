"""Compile and render acknowledgement templates in a sandbox: strict undefined, autoescaped HTML, date filters."""

from __future__ import annotations

import logging
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from jinja2 import FunctionLoader, StrictUndefined, pass_context
from jinja2.sandbox import SandboxedEnvironment

from ingest.shipped_files import shipped
from workers.acks.wrapping import wrap_text

log = logging.getLogger("guichet.templates")

TEMPLATES_DIR_ENV = "GUICHET_TEMPLATES_DIR"
DEFAULT_TEMPLATES_DIR = shipped("templates")
DATES_FILE = "_dates.toml"
PARTS = ("subject", "txt", "html")
FALLBACK_LANGUAGES = ("en", "fr")
SUBJECT_MAX = 200
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


class TemplateSetError(RuntimeError):
    """A template set cannot be used; `problems` says which file and what to fix."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass(frozen=True)
class RenderedAck:
    subject: str
    text: str
    html: str


def templates_dir() -> Path:
    """`GUICHET_TEMPLATES_DIR` when set, else the `templates/` folder shipped with guichet."""
    return Path(os.environ.get(TEMPLATES_DIR_ENV) or DEFAULT_TEMPLATES_DIR)


def template_name(language: str, part: str) -> str:
    return f"ack.{language}.{part}.j2"


def load_sources(directory: Path) -> dict[str, str]:
    """Every template and data file of the set, by path relative to `directory`."""
    files = sorted(p for p in Path(directory).rglob("*") if p.suffix in (".j2", ".toml"))
    return {p.relative_to(directory).as_posix(): p.read_text("utf-8") for p in files}


def fingerprint(directory: Path) -> tuple:
    """What changes when an admin edits, adds or removes a file of the set."""
    files = sorted(p for p in Path(directory).rglob("*") if p.suffix in (".j2", ".toml"))
    return tuple((p.as_posix(), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


def format_moment(value: datetime, layout: str, table: dict) -> str:
    """Fill a layout of `_dates.toml` for `value`, shown in its own (policy) time zone."""
    fields = {
        "weekday": table["weekdays"][value.weekday()],
        "day": table.get("days", {}).get(str(value.day), str(value.day)),
        "month": table["months"][value.month - 1],
        "year": str(value.year),
        "hour": f"{value.hour:02d}",
        "minute": f"{value.minute:02d}",
        "zone": zone_name(value, table),
    }
    fields["clock"] = _fill(table.get("clock", "{hour}:{minute}"), fields)
    fields["time"] = _fill(table["time"], fields)
    return _fill(table[layout], fields)


def zone_name(value: datetime, table: dict) -> str:
    """How customers name the zone of `value` ("heure de Paris"); its IANA key otherwise."""
    key = getattr(value.tzinfo, "key", None) or value.tzname() or "UTC"
    return table.get("zones", {}).get(key, key)


def _fill(layout: str, fields: dict) -> str:
    return _PLACEHOLDER.sub(lambda m: fields.get(m.group(1), m.group(0)), layout)


def _date_filter(layout: str):
    @pass_context
    def apply(ctx, value):
        if not isinstance(value, datetime):
            raise TypeError(f"the '{layout}' filter needs a date, got {value!r}")
        tables = ctx.environment.globals["date_tables"]
        return format_moment(value, layout, tables[ctx["lang"]])

    return apply


def _source_of(sources: dict[str, str]):
    """A loader function over a frozen snapshot; errors then name the template file."""

    def get(name: str):
        if name.endswith(".j2") and name in sources:
            return sources[name], name, lambda: True
        return None

    return get


def make_environment(sources: dict[str, str]) -> SandboxedEnvironment:
    """A sandbox over in-memory sources: strict undefined, autoescape for `.html.j2` only."""
    env = SandboxedEnvironment(
        loader=FunctionLoader(_source_of(sources)),
        undefined=StrictUndefined,
        autoescape=lambda name: bool(name and name.endswith(".html.j2")),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["date_tables"] = tomllib.loads(sources.get(DATES_FILE, ""))
    for layout in ("datetime", "date", "time"):
        env.filters[layout] = _date_filter(layout)
    env.filters["zone"] = _zone_filter
    return env


@pass_context
def _zone_filter(ctx, value):
    """`{{ request.received_at|zone }}` → "heure de Paris": the zone that every time is shown in."""
    if not isinstance(value, datetime):
        raise TypeError(f"the 'zone' filter needs a date, got {value!r}")
    return zone_name(value, ctx.environment.globals["date_tables"][ctx["lang"]])


def clean_subject(text: str, limit: int = SUBJECT_MAX) -> str:
    """One header-safe line: control and line-separator characters gone, spaces collapsed."""
    # A printable text holds none of the characters to replace (the check is one C loop).
    kept = text if text.isprintable() else "".join(_subject_char(c) for c in text)
    line = " ".join(kept.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _subject_char(char: str) -> str:
    kind = unicodedata.category(char)
    if kind in ("Cc", "Zl", "Zp"):
        return " "
    return "" if kind == "Cf" else char


def pick_language(sources: dict[str, str], language: str) -> str:
    """The requested language when its three templates exist, else English, else French."""
    for lang in (language, *FALLBACK_LANGUAGES):
        if all(template_name(lang, part) in sources for part in PARTS):
            return lang
    raise TemplateSetError(f"no complete acknowledgement templates for {language!r}, 'en' or 'fr'")


class CompiledSet:
    """One immutable, validated version of the template directory."""

    def __init__(self, sources: dict[str, str]):
        self.sources = dict(sources)
        self.env = make_environment(self.sources)

    def render_part(self, context: dict, language: str, part: str) -> str:
        template = self.env.get_template(template_name(language, part))
        text = template.render({**context, "lang": language})
        return wrap_text(text) if part == "txt" else text

    def render(self, context: dict, language: str) -> RenderedAck:
        lang = pick_language(self.sources, language)
        return RenderedAck(
            subject=clean_subject(self.render_part(context, lang, "subject")),
            text=self.render_part(context, lang, "txt"),
            html=self.render_part(context, lang, "html"),
        )
