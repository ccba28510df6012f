"""Line diffs of template texts for the history pages (difflib, a few lines of context)."""

from __future__ import annotations

import difflib

KINDS = {"+": "add", "-": "del", "@": "hunk"}


def diff_lines(before: str, after: str, context: int = 2) -> list[tuple[str, str]]:
    """(kind, line) pairs: kind is add, del, hunk or same; file header lines left out."""
    lines = difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="", n=context)
    out = []
    for line in lines:
        if line.startswith(("---", "+++")):
            continue
        out.append((KINDS.get(line[:1], "same"), line))
    return out


def file_diffs(changes: dict[str, dict[str, str]]) -> list[dict]:
    """Each changed file with its diff, in file-name order."""
    return [
        {"file": name, "lines": diff_lines(change["before"], change["after"])}
        for name, change in sorted(changes.items())
    ]
