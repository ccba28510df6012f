"""Separate the customer's new text from quoted or forwarded history, signature and disclaimer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ingest import config_files
from ingest.reading.normalize import fold
from ingest.reading.pasted_text import split_disclaimer
from ingest.reading.phrase_scan import phrase_regex

_RULE = re.compile(r"[_=*-]+")


@dataclass(frozen=True)
class Split:
    new_text: str  # what the customer wrote in this message, without signature
    quoted: str  # reply history and forwarded history
    signature: str  # closing line onwards ("Cordialement,\nJean Dupont\n06 …")
    forwarded: str = ""  # the forwarded part alone (also inside `quoted`)
    disclaimer: str = ""  # legal notices and gateway boilerplate ("CONFIDENTIALITY NOTICE: …")


@dataclass(frozen=True)
class _Markers:
    forward: re.Pattern | None
    attribution: re.Pattern | None
    attribution_line: re.Pattern | None
    endings: re.Pattern | None
    original: re.Pattern | None
    block_first: re.Pattern | None
    block_fields: re.Pattern | None
    block_min_fields: int
    delimiter: re.Pattern | None
    strong: re.Pattern | None
    weak: re.Pattern | None
    device: re.Pattern | None
    weak_max_lines: int
    weak_max_words: int
    closing_max_name_words: int
    strong_max_lines: int
    attribution_join: int


@lru_cache(maxsize=1)
def _markers() -> _Markers:
    voc = config_files.load("vocabulary")["text_split"]
    return _Markers(
        forward=phrase_regex(voc["forward_markers"]),
        attribution=phrase_regex(voc["reply_attributions"]),
        attribution_line=phrase_regex(voc["reply_attribution_lines"]),
        endings=phrase_regex(voc["attribution_endings"]),
        original=phrase_regex(voc["original_message_markers"]),
        block_first=phrase_regex(voc["header_block_first"]),
        block_fields=phrase_regex(voc["header_block_fields"]),
        block_min_fields=voc["header_block_min_fields"],
        delimiter=phrase_regex(voc["signature_delimiters"]),
        strong=phrase_regex(voc["strong_closings"]),
        weak=phrase_regex(voc["weak_closings"]),
        device=phrase_regex(voc["device_signatures"]),
        weak_max_lines=voc["weak_closing_max_lines_after"],
        weak_max_words=voc["weak_closing_max_words_per_line"],
        closing_max_name_words=voc["closing_max_name_words"],
        strong_max_lines=voc["strong_closing_max_lines_after"],
        attribution_join=voc["attribution_max_lines"],
    )


def _key(line: str) -> str:
    """Folded line without the decoration an HTML-to-text conversion leaves (`**De :**`)."""
    return fold(line).strip().strip("*_ ").replace("*", "")


class _Keys:
    """`_key` of each line, folded once and only for the lines a rule looks at."""

    def __init__(self, lines: list[str]):
        self.lines, self.done = lines, [None] * len(lines)

    def __getitem__(self, i: int) -> str:
        if self.done[i] is None:
            self.done[i] = _key(self.lines[i])
        return self.done[i]

    def span(self, start: int, end: int) -> list[str]:
        return [self[i] for i in range(start, min(end, len(self.lines)))]


def _starts(regex: re.Pattern | None, key: str) -> bool:
    return bool(regex and regex.match(key))


def _attribution_start(lines: list[str], keys: _Keys, i: int, m: _Markers) -> int | None:
    """First line of a reply attribution ending on line i, possibly wrapped over lines."""
    key = keys[i]
    if not (m.endings and m.endings.match(key)):
        return None
    for j in range(i, max(0, i - m.attribution_join + 1) - 1, -1):
        joined = " ".join(keys.span(j, i + 1))
        if (
            all(ln.strip() for ln in lines[j : i + 1])
            and m.attribution
            and m.attribution.fullmatch(joined)
        ):
            return j
    return i if m.attribution_line and m.attribution_line.fullmatch(key) else None


def _is_header_block(keys: _Keys, i: int, m: _Markers) -> bool:
    if not _starts(m.block_first, keys[i]):
        return False
    following = keys.span(i + 1, i + 7)
    return sum(_starts(m.block_fields, key) for key in following) >= m.block_min_fields


def _history_start(lines: list[str], m: _Markers) -> tuple[int, bool] | None:
    """Index of the first line of unquoted history, and whether it is a forward."""
    keys = _Keys(lines)
    for i in range(len(lines)):
        key = keys[i]
        if _starts(m.forward, key):
            return i, True
        if _starts(m.original, key) or _is_header_block(keys, i, m):
            return i, False
        start = _attribution_start(lines, keys, i, m)
        if start is not None:
            return start, False
    return None


def _next_is_quoted(lines: list[str], i: int) -> bool:
    rest = [line for line in lines[i + 1 :] if line.strip()]
    return bool(rest) and rest[0].lstrip().startswith(">")


def _separate_history(lines: list[str], m: _Markers) -> tuple[list[str], list[str], list[str]]:
    """(own lines, quoted lines, forwarded lines); `>` lines and history blocks go aside."""
    own: list[str] = []
    quoted: list[str] = []
    start = _history_start(lines, m)
    cut, forwarded = start if start else (len(lines), False)
    tail = lines[cut:]
    if start and not forwarded and _next_is_quoted(lines, cut):
        quoted.append(lines[cut])
        tail, lines = [], lines[:cut] + lines[cut + 1 :]
    else:
        lines = lines[:cut]
    for line in lines:
        (quoted if line.lstrip().startswith(">") else own).append(line)
    return own, quoted + tail, tail if forwarded else []


def _looks_like_signature_line(line: str, m: _Markers) -> bool:
    text = line.strip()
    count = len(text.split())
    if count > m.weak_max_words or text.endswith(("?", "!")):
        return False
    return not text.endswith(".") or count <= 3


def _closing_ok(lines: list[str], i: int, end: int, count: int, weak: bool, m: _Markers) -> bool:
    """Whether lines[i + 1 : end], `count` of them not blank, can follow a closing."""
    if not weak:
        return count <= m.strong_max_lines
    return count <= m.weak_max_lines and all(
        _looks_like_signature_line(line, m) for line in lines[i + 1 : end] if line.strip()
    )


def _short_tail(rest: str, weak: bool, m: _Markers) -> bool:
    """After a closing only a name may follow (`Cordialement, Jean Dupont`)."""
    if not rest.strip():
        return True
    if weak and rest[0] not in ",.!;-":
        return False
    return len(rest.split()) <= m.closing_max_name_words


def _closing_kind(key: str, m: _Markers) -> bool | None:
    """True for a weak closing, False for a strong one, None when the line is not one."""
    key = key.rstrip(" .,!;:-")
    if _starts(m.device, key):
        return False
    for regex, weak in ((m.strong, False), (m.weak, True)):
        found = regex.match(key) if regex else None
        if found and _short_tail(key[found.end() :], weak, m):
            return weak
    return None


def _signature_start(lines: list[str], m: _Markers) -> int | None:
    delimiter = next((i for i, ln in enumerate(lines) if _starts(m.delimiter, ln.rstrip())), None)
    end = len(lines) if delimiter is None else delimiter
    count = 0  # lines not blank below line i, up to `end`
    for i in range(end - 1, -1, -1):
        kind = _closing_kind(_key(lines[i]), m)
        if kind is not None and _closing_ok(lines, i, end, count, kind, m):
            return i if delimiter is None or delimiter - i <= 4 else delimiter
        count += bool(lines[i].strip())
    return delimiter


def _rules_start(text: str) -> int | None:
    r"""Where `(\n\s*[_=*-]{5,}\s*)+$` matches first, in one pass: trailing rule lines."""
    tail = len(text)
    while tail and (text[tail - 1] in "_=*-" or text[tail - 1].isspace()):
        tail -= 1
    runs = [r.span() for r in _RULE.finditer(text, tail)]
    if not runs or runs[-1][1] - runs[-1][0] < 5:
        return None
    j = len(runs) - 1  # first rule of the chain: 5+ characters, a line break before each
    while j and runs[j - 1][1] - runs[j - 1][0] >= 5 and "\n" in text[runs[j - 1][1] : runs[j][0]]:
        j -= 1
    for k in (j, j + 1)[: len(runs) - j]:
        gap = (runs[k - 1][1] if k else tail, runs[k][0])
        if "\n" in text[gap[0] : gap[1]]:
            return text.index("\n", *gap)
    return None


def _trim(lines: list[str]) -> str:
    text = "\n".join(lines).strip("\n")
    cut = _rules_start(text)
    return (text if cut is None else text[:cut]).strip()


@lru_cache(maxsize=16)
def split_text(text: str) -> Split:
    """Split a message body into new text, quoted history, signature and disclaimer (cached:
    every rule of one request asks for the same split)."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    m = _markers()
    own, quoted, forwarded = _separate_history(lines, m)
    own, notice = split_disclaimer(own)
    sig = _signature_start(own, m)
    body, signature = (own, []) if sig is None else (own[:sig], own[sig:])
    return Split(_trim(body), _trim(quoted), _trim(signature), _trim(forwarded), _trim(notice))
