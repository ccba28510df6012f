"""The live sources: the shipped template files overlaid with the admins' saved version, file by file."""

from __future__ import annotations

import re
from dataclasses import dataclass

FILE = re.compile(
    r"(?P<stem>[^./]+)(?:\.(?P<lang>[a-z]{2}))?(?:\.(?P<part>subject|txt|html))?\.(?P<ext>j2|toml)"
)
PART_ORDER = ("subject", "txt", "html", "template", "data")


@dataclass(frozen=True)
class TemplateFile:
    """One file of a template: `ack.fr.txt.j2` is template `ack.fr`, part `txt`, language `fr`."""

    name: str
    template: str
    part: str
    language: str | None


def describe(name: str) -> TemplateFile | None:
    """What an editor shows of a file; None for a name that is not a template file."""
    match = FILE.fullmatch(name)
    if match is None:
        return None
    stem, lang, part, ext = match.group("stem", "lang", "part", "ext")
    template = f"{stem}.{lang}" if lang else stem
    return TemplateFile(name, template, part or ("data" if ext == "toml" else "template"), lang)


def templates(names) -> dict[str, list[TemplateFile]]:
    """Files grouped by template (`ack.fr` → subject, txt, html), parts in reading order."""
    groups: dict[str, list[TemplateFile]] = {}
    for name in sorted(names):
        found = describe(name)
        if found is not None:
            groups.setdefault(found.template, []).append(found)
    for files in groups.values():
        files.sort(key=lambda f: PART_ORDER.index(f.part))
    return dict(sorted(groups.items(), key=lambda item: (not item[0].startswith("ack."), item[0])))


def overlay(shipped: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    """The shipped set with every saved file in place of its default (unknown names ignored)."""
    return {name: overrides.get(name, text) for name, text in shipped.items()}


def orphans(shipped: dict[str, str], overrides: dict[str, str]) -> list[str]:
    """Saved files whose default is gone from this release: they are no longer used."""
    return sorted(name for name in overrides if name not in shipped)


def propose(
    shipped: dict[str, str], overrides: dict[str, str], edits: dict[str, str]
) -> dict[str, str]:
    """The overlay after `edits`: a file edited back to its shipped text stops being an override."""
    after = dict(overrides)
    for name, text in edits.items():
        if text == shipped.get(name):
            after.pop(name, None)
        else:
            after[name] = text
    return after


def changes(before: dict[str, str], after: dict[str, str]) -> dict[str, dict[str, str]]:
    """{file: {"before", "after"}} for every file whose text differs between two live sets."""
    names = sorted(set(before) | set(after))
    return {
        n: {"before": before.get(n, ""), "after": after.get(n, "")}
        for n in names
        if before.get(n) != after.get(n)
    }


def normalise(text: str) -> str:
    """Browsers send CRLF line ends from a textarea; the files use LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
