"""Recognise text the customer pasted but did not write: log lines, technical output, disclaimers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingest import config_files
from ingest.reading.normalize import fold
from ingest.reading.phrase_scan import compiled


@dataclass(frozen=True)
class _Patterns:
    strong: re.Pattern  # one of these on a line makes it technical output
    key_value: re.Pattern  # `status=bounced`: two of them, or one with a timestamp
    timestamp: re.Pattern
    technical_token: re.Pattern
    min_tokens: int
    technical_share: float
    disclaimer: list[str]  # phrases that start a legal notice
    disclaimer_more: list[str]  # in a following paragraph, they continue it


@lru_cache(maxsize=1)
def _patterns() -> _Patterns:
    v = config_files.load("vocabulary")["pasted_text"]
    joined = "|".join(f"(?:{p})" for p in v["log_line_patterns"])
    return _Patterns(
        strong=re.compile(joined),
        key_value=re.compile(v["key_value_pattern"]),
        timestamp=re.compile(v["timestamp_pattern"]),
        technical_token=re.compile(v["technical_token_pattern"]),
        min_tokens=v["dense_line_min_tokens"],
        technical_share=v["dense_line_technical_share"],
        disclaimer=v["disclaimer_markers"],
        disclaimer_more=v["disclaimer_continuations"],
    )


def is_log_line(line: str) -> bool:
    """A log line, SMTP reply, stack frame, access-log entry or a line dense with paths and codes
    (cached: the rules of one request ask about the same lines)."""
    return _is_log_line(line) if len(line) <= 1000 else _log_line(line)


_QUOTED = re.compile(r'"[^"\n]{0,300}"|«[^»\n]{0,300}»|“[^”\n]{0,300}”')


def _log_line(line: str) -> bool:
    p, text = _patterns(), line.strip()
    if not text:
        return False
    if p.strong.search(text):
        return True
    # A record value the customer quotes ("v=DMARC1; p=none") is part of their sentence.
    pairs = len(p.key_value.findall(_QUOTED.sub('""', text)))
    if pairs >= 2 or (pairs and p.timestamp.search(text)):
        return True
    tokens = [t for t in text.split() if not re.fullmatch(r"[\d\W]{1,4}|\W+", t)]
    technical = sum(bool(p.technical_token.search(t)) for t in tokens)
    return len(tokens) >= p.min_tokens and technical >= p.technical_share * len(tokens)


_is_log_line = lru_cache(maxsize=4096)(_log_line)


def without_log_lines(text: str) -> str:
    """The text with its log-like lines blanked (line count kept, so offsets by line hold)."""
    return "\n".join("" if is_log_line(line) else line for line in text.split("\n"))


def _paragraphs(lines: list[str]) -> list[tuple[int, int]]:
    """(first, end) line ranges of the blocks separated by blank lines."""
    spans, start = [], None
    for i, line in enumerate([*lines, ""]):
        if line.strip() and start is None:
            start = i
        elif not line.strip() and start is not None:
            spans.append((start, i))
            start = None
    return spans


def _marker_line(folded_lines: list[str], first: int, end: int, phrases) -> int | None:
    """The line of a paragraph where a (possibly wrapped) marker phrase begins."""
    folded = folded_lines[first:end]
    joined = " ".join(folded)
    found = compiled(phrases)
    hit = found.regex.search(joined) if found.may_match(joined) else None
    if not hit:
        return None
    offset = 0
    for i, line in enumerate(folded):
        offset += len(line) + 1
        if hit.start() < offset:
            return first + i
    return end - 1


def split_disclaimer(lines: list[str]) -> tuple[list[str], list[str]]:
    """(kept lines, notice lines): a legal notice and the paragraphs that go on with it."""
    p, folded = _patterns(), [fold(line) for line in lines]
    kept, notice, inside = list(lines), [], False
    for first, end in _paragraphs(lines):
        start = _marker_line(folded, first, end, p.disclaimer)
        if (
            start is None
            and inside
            and _marker_line(folded, first, end, p.disclaimer_more) is not None
        ):
            start = first
        inside = start is not None
        if inside:
            notice += lines[start:end]
            kept[start:end] = [""] * (end - start)
    return kept, notice
