"""Look-alikes of a client number: each rule names what a 5-digit spot really is."""

from __future__ import annotations

import re
from functools import lru_cache

from ingest import config_files
from ingest.reading.normalize import fold
from ingest.reading.pasted_text import is_log_line
from ingest.reading.phrase_scan import phrase_regex, reach
from ingest.rules.number_spots import WINDOW, Spot


@lru_cache(maxsize=1)
def vocab() -> dict:
    return config_files.load("vocabulary")["client_number"]


_TOKEN = re.compile(r"n°|[^\W_]+|[#:=-]")


def number_words(text: str) -> list[str]:
    """Folded words and the punctuation that may sit between a keyword and its number."""
    return _TOKEN.findall(fold(text))


# Folding is the same on either side of these characters (never inside an HTML entity), and no
# word holds one; nor these others, in a text without "&".
_CUT = re.compile(r"[ <]")
_CUT_PLAIN = re.compile(r"[ <;,.|/!?()\[\]{}\"'*+@%$~^`]")


def _cut(text: str, start: int, end: int, last: bool) -> int:
    """Index of the first (or last) cut character in text[start:end], or -1."""
    cuts = _CUT if "&" in text else _CUT_PLAIN
    if not last:
        hit = cuts.search(text, start, end)
        return hit.start() if hit else -1
    hits = [hit.start() for hit in cuts.finditer(text, start, end)]
    return hits[-1] if hits else -1


def last_number_words(text: str, count: int) -> list[str]:
    """number_words(text)[-count:], folding only the end of a long line."""
    size = 64
    while size < len(text):
        cut = _cut(text, max(0, len(text) - 4 * size), len(text) - size, last=True)
        if cut >= 0:
            found = number_words(text[cut:])
            if len(found) >= count:
                return found[len(found) - count :]
        size *= 4
    return number_words(text)[-count:]


@lru_cache(maxsize=8)
def _around(key: str, template: str) -> re.Pattern:
    """A vocabulary list set into a regex template, e.g. "after the number, a unit"."""
    return re.compile(template.replace("LIST", phrase_regex(vocab()[key]).pattern))


class GluedToWord:
    name = "glued-to-word"
    description = "digits stuck to letters, a plus sign or an @ belong to a name, tag or address"

    def rejects(self, spot: Spot) -> bool:
        before, after = spot.before(1), spot.after(1)
        return bool(re.match(r"[^\W\d_]|\+", before) or re.match(r"[^\W\d]|@", after))


class ReferenceToken:
    name = "reference-token"
    description = "the digits of a reference such as INV-70214, HD-88231, REF_12345, #A-12345"

    def rejects(self, spot: Spot) -> bool:
        left = re.search(r"[^\s(\[{<«\"']*$", spot.before(40)).group()
        if re.match(r"_[^\W_]|-(?:[^\W\d_]{1,3}|\d)(?![^\W\d_])", spot.after(5)):
            return True  # 12345-B, 12345_v2, 12345-FR: a piece of a longer code
        glued = re.search(r"([^\W_]*)[-_./]+$", left)
        if not glued or not glued.group(1):
            return False  # nothing glued, or "client#12345", "n°:12345", "compte:12345"
        return fold(glued.group(1)) not in vocab()["glued_keywords"]


class PartOfLongerNumber:
    name = "part-of-longer-number"
    description = "joined to other digits: phone, date, IP, time, SIRET, invoice, amount"

    def rejects(self, spot: Spot) -> bool:
        before, after = spot.before(4), spot.after(4)
        return bool(
            re.search(r"\d[.,:/-]$|\d{2} $", before) or re.match(r"[.,:/-]\d| \d{2}", after)
        )


class InsideAddress:
    name = "inside-address"
    description = "part of a URL, a path, an e-mail address or a host name"

    def rejects(self, spot: Spot) -> bool:
        left = re.search(r"\S*$", spot.before(200)).group()
        right = re.match(r"\S*", spot.after(200)).group().rstrip(".,;:!?)]»\"'")
        token = left + "#" + right
        return bool(re.search(r"@|://|www\.|[/\\=?&]|\.[a-z]{2,}", token, re.I))


class TicketTag:
    name = "ticket-tag"
    description = "the number inside a subject tag such as [DRI #10042] is a ticket's"

    def rejects(self, spot: Spot) -> bool:
        v = vocab()
        return bool(
            re.search(v["ticket_tag_before"], spot.before())
            and re.match(v["ticket_tag_after"], spot.after())
        )


class Quantity:
    name = "quantity-or-amount"
    description = "followed by a unit or currency, or preceded by a currency"

    def rejects(self, spot: Spot) -> bool:
        after = _around("quantity_after", r"\s?(?:LIST)").match(fold(spot.after(20)))
        return bool(
            after or _around("currency_before", r"(?:LIST)\s?$").search(fold(spot.before(8)))
        )


class InLogLine:
    name = "in-log-line"
    description = "a PID, queue id, line number or port in pasted log or technical output"

    def rejects(self, spot: Spot) -> bool:
        start, end = spot.line_span()
        if spot.end - spot.start == len(spot.number) or end - start > _LONG_LINE:
            return _log_line_at(spot.text, start, end)  # the line as written: one verdict a line
        text = spot.text
        return is_log_line(text[start : spot.start] + spot.number + text[spot.end : end])


_LONG_LINE = 1000  # past this, a spaced number ("12 345") is judged with the line as written


@lru_cache(maxsize=256)
def _log_line_at(text: str, start: int, end: int) -> bool:
    return is_log_line(text[start:end])


def _fold_head(text: str, key: str) -> str:
    """fold(text), or the fold of a head of it (cut before a `_CUT`), long enough for a match at its
    start to read the same (the fold of the head is a head of the fold)."""
    most = reach(vocab()[key])
    size = 64
    while most is not None and size < len(text):
        cut = _cut(text, size, 4 * size, last=False)
        if cut < 0:
            size *= 4
            continue
        head = fold(text[:cut])
        if len("".join(head.split())) > most + 2:
            return head
        size *= 4
    return fold(text)


class Postcode:
    name = "postcode"
    description = "followed by a town or cedex, in an address, or before an ALL-CAPS town"

    def rejects(self, spot: Spot) -> bool:
        previous, before, after = spot.lines()
        head = _fold_head(spot.after(WINDOW) if after is None else after, "postcode_next_words")
        if self._found("postcode_next_words", r"\s*(?:LIST)", head):
            return True
        near = fold(before + "\n" + previous)
        return self._found("address_words", "LIST", near) or self._town(after)

    @staticmethod
    def _found(key: str, template: str, folded: str) -> bool:
        r"""The vocabulary list set in its template matches (at the start for a `\s*` one)."""
        regex = _around(key, template)
        return bool(regex.match(folded) if template.startswith("\\s*") else regex.search(folded))

    @staticmethod
    def _town(after: str | None) -> bool:
        """A town closes the line: "BREST", "Ostwald", "Saint-Pol-de-Léon", "Le Relecq-Kerhuon"."""
        if after is None:
            return False  # the line goes on far past the number
        found = re.match(r"\s+([A-ZÀ-Ý][A-ZÀ-Ý' -]{2,})\s*$", after) or re.match(
            r"\s+([A-ZÀ-Ý][a-zà-ÿ'’]+(?:[ -](?:[A-ZÀ-Ý]|sur\b|en\b|de\b|la\b|le\b|les\b)[\wà-ÿ'’]*){0,4})\s*$",
            after,
        )
        if not found:
            return False
        names = set(number_words(found.group(1)))
        return not names & set(vocab()["not_place_words"])


# Structural look-alikes, checked before any keyword: the shape of the token decides.
STRUCTURAL = (
    GluedToWord(),
    PartOfLongerNumber(),
    ReferenceToken(),
    InsideAddress(),
    TicketTag(),
    Quantity(),
    InLogLine(),
)
