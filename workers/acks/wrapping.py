"""The plain-text part laid out one way whatever the template and the values: paragraphs reflowed to 72 columns."""

from __future__ import annotations

import re
import textwrap
from functools import lru_cache

WIDTH = 72
_ITEM = re.compile(r"^(\s*)([-*•]|\d+[.)])\s+")
_RULE = re.compile(r"^\s*-{5,}")  # "----- title -----" and the closing line of dashes
_URL_LINE = re.compile(r"^\s*(?:https?://|mailto:|tel:)\S*\s*$")
# French spacing: never start a line with ":" ";" "?" "!" "»" nor end one with "«".
_GLUE_BEFORE = re.compile(r" (?=[:;?!»])")
_GLUE_AFTER = re.compile(r"(?<=«) ")
# Never cut across lines: phone numbers ("+33 2 90 92 05 55"), amounts ("350 € HT"), subject
# tags ("[DRI #100042]"), and a small number from the word after it ("6 December", "4 h").
_PHONE = re.compile(r"\+?\d[\d .]{6,}\d")
_AMOUNT = re.compile(r"\d+ ?€(?: HT| TTC)?")
_TAG = re.compile(r"\[[^\[\]\n]{1,40}\]")
_NUMBER = re.compile(r"\b\d{1,2}(?:er)? \w")
_GLUE = "\ue000"  # a private-use stand-in for a space the wrapper may not break at


def wrap_text(text: str, width: int = WIDTH) -> str:
    """Reflow each paragraph (lines up to a blank line, a list item, a rule or a lone URL)
    to `width` columns; list items keep a hanging indent; long words and URLs stay whole."""
    out: list[str] = []
    pending: list[str] = []
    indent = ""
    for line in text.split("\n"):
        kind = _kind(line)
        if kind == "text" and pending:
            pending.append(line.strip())
            continue
        out += _flush(pending, indent, width)
        pending, indent = [], ""
        if kind == "item":
            match = _ITEM.match(line)
            indent = " " * len(match.group(0))
            pending = [line.rstrip()]
        elif kind == "text":
            pending = [line.rstrip()]
        else:
            out.append(line.rstrip())
    out += _flush(pending, indent, width)
    return "\n".join(out)


def _kind(line: str) -> str:
    if not line.strip():
        return "blank"
    if _RULE.match(line) or _URL_LINE.match(line):
        return "keep"
    return "item" if _ITEM.match(line) else "text"


def _flush(lines: list[str], indent: str, width: int) -> list[str]:
    return list(_reflowed(tuple(lines), indent, width)) if lines else []


# Most paragraphs of an acknowledgement are the template's own words, the same in every
# acknowledgement of a kind (what happens next, the fees, the hours): reflowed once, not per
# mail (the reflow was a third of the rendering's CPU). A paragraph with a customer's words
# in it is reflowed as before, and the least recently used are forgotten.
@lru_cache(maxsize=2048)
def _reflowed(lines: tuple[str, ...], indent: str, width: int) -> tuple[str, ...]:
    first = lines[0]
    lead = first[: len(first) - len(first.lstrip())]
    words = " ".join([first.strip(), *lines[1:]])
    glued = _GLUE_AFTER.sub(_GLUE, _GLUE_BEFORE.sub(_GLUE, words))
    for together in (_PHONE, _AMOUNT, _TAG, _NUMBER):
        glued = together.sub(lambda m: m.group().replace(" ", _GLUE), glued)
    wrapped = textwrap.wrap(
        glued,
        width=width,
        initial_indent=lead,
        subsequent_indent=indent or lead,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return tuple(w.replace(_GLUE, " ") for w in wrapped)
