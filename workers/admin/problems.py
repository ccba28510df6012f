"""Template problems as the editor shows them: file, scenario, what to fix, and the line to look at."""

from __future__ import annotations

import re

from workers.acks.check import Problem

_LINE = re.compile(r"^(?P<file>\S+) line (?P<line>\d+)$")
_QUOTED_PHONE = re.compile(r"phone number (.+?) must not appear")
_NON_DIGIT = re.compile(r"\D")


def shown(problem: Problem, files: dict[str, str]) -> dict:
    """{file, line, scenario, message}; the line is found in the edited files when the check
    judged the rendered mail (a phone number that must not be there) rather than the source."""
    file, line = problem.file, None
    found = _LINE.match(file)
    if found:
        file, line = found["file"], int(found["line"])
    else:
        file, line = _find_phone(problem.message, files) or (file, None)
    return {"file": file, "line": line, "scenario": problem.scenario, "message": problem.message}


def _find_phone(message: str, files: dict[str, str]) -> tuple[str, int] | None:
    quoted = _QUOTED_PHONE.search(message)
    digits = _NON_DIGIT.sub("", quoted.group(1)) if quoted else ""
    if not digits:
        return None
    for name, text in files.items():
        for number, line in enumerate(text.splitlines(), 1):
            if digits in _NON_DIGIT.sub("", line):
                return name, number
    return None
