"""Ordered rules that find the 5-digit client number and ignore its look-alikes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from ingest import config_files
from ingest.model import Content, Finding
from ingest.normalize import fold, phrase_regex, unescape, unify_punctuation
from ingest.text_split import Split, split_text

FIELD = "client_number"
_CANDIDATE = re.compile(r"(?<!\d)(\d{5}|\d{2}[ ]\d{3})(?!\d)")
_TAG = re.compile(r"\+(\d{5})@")
_TOKEN = re.compile(r"n°|[^\W_]+|[#:=-]")


@dataclass(frozen=True)
class NumberMatch:
    number: str  # five digits, as written once spaces are removed
    rule: str  # the strategy that found it
    where: str  # "declared" | "recipient" | "subject" | "body" | "signature" | "quoted"


@dataclass(frozen=True)
class Spot:
    """One 5-digit candidate in one zone of the message."""

    zone: str
    text: str
    start: int
    end: int

    @property
    def number(self) -> str:
        return self.text[self.start : self.end].replace(" ", "")

    def before(self, size: int = 60) -> str:
        return self.text[max(0, self.start - size) : self.start]

    def after(self, size: int = 60) -> str:
        return self.text[self.end : self.end + size]


@lru_cache(maxsize=1)
def _vocab() -> dict:
    return config_files.load("vocabulary")["client_number"]


def _words(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


def _line_before(spot: Spot) -> str:
    return spot.text[spot.text.rfind("\n", 0, spot.start) + 1 : spot.start]


def _line_after(spot: Spot) -> str:
    end = spot.text.find("\n", spot.end)
    return spot.text[spot.end : end if end >= 0 else len(spot.text)]


def _previous_line(spot: Spot) -> str:
    start = spot.text.rfind("\n", 0, spot.start)
    return spot.text[spot.text.rfind("\n", 0, max(start, 0)) + 1 : max(start, 0)]


# --- look-alikes: each rule rejects a spot that is something else -----------------------------


class GluedToWord:
    name = "glued-to-word"
    description = "digits stuck to letters, a plus sign or an @ belong to a name, tag or address"

    def rejects(self, spot: Spot) -> bool:
        before, after = spot.before(1), spot.after(1)
        return bool(re.match(r"[^\W\d_]|\+", before) or re.match(r"[^\W\d]|@", after))


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
        v = _vocab()
        return bool(
            re.search(v["ticket_tag_before"], spot.before())
            and re.match(v["ticket_tag_after"], spot.after())
        )


class Quantity:
    name = "quantity-or-amount"
    description = "followed by a unit or currency, or preceded by a currency"

    def rejects(self, spot: Spot) -> bool:
        v = _vocab()
        after = re.compile(r"\s?(?:" + phrase_regex(v["quantity_after"]).pattern + ")")
        before = re.compile("(?:" + phrase_regex(v["currency_before"]).pattern + r")\s?$")
        return bool(after.match(fold(spot.after(20))) or before.search(fold(spot.before(8))))


class Postcode:
    name = "postcode"
    description = "followed by a town or cedex, in an address, or before an ALL-CAPS town"

    def rejects(self, spot: Spot) -> bool:
        v = _vocab()
        following = fold(_line_after(spot)).strip()
        town = phrase_regex(v["postcode_next_words"])
        if town and town.match(following):
            return True
        near = fold(_line_before(spot) + "\n" + _previous_line(spot))
        return bool(phrase_regex(v["address_words"]).search(near)) or self._caps_town(spot)

    @staticmethod
    def _caps_town(spot: Spot) -> bool:
        found = re.match(r"\s+([A-ZÀ-Ý][A-ZÀ-Ý' -]{2,})\s*$", _line_after(spot))
        if not found:
            return False
        names = set(_words(found.group(1)))
        return not names & set(_vocab()["not_place_words"])


STRUCTURAL = (GluedToWord(), PartOfLongerNumber(), InsideAddress(), TicketTag(), Quantity())


def anchor(spot: Spot) -> str | None:
    """Walk back over fillers: "keyword", "weak-keyword", "decoy-word" or None."""
    v = _vocab()
    fillers, weak, seen = set(v["fillers"]), set(v["weak_keywords"]), 0
    found = None
    for word in reversed(_words(_line_before(spot) or _previous_line(spot))[-12:]):
        if word in v["keywords"]:
            return "keyword"
        if word in v["decoy_words"]:
            return "decoy-word"
        if word not in fillers or seen >= v["max_fillers"]:
            break
        found = "weak-keyword" if word in weak else found
        seen += 1
    return found


def judge(spot: Spot) -> tuple[str, str]:
    """("keyword"|"bare"|"rejected", rule name) for one spot."""
    for rule in STRUCTURAL:
        if rule.rejects(spot):
            return "rejected", rule.name
    anchored = anchor(spot)
    if anchored in ("keyword", "weak-keyword"):
        return "keyword", anchored
    if anchored == "decoy-word":
        return "rejected", anchored
    if Postcode().rejects(spot):
        return "rejected", Postcode.name
    return "bare", "bare-number"


def spots(zone: str, text: str) -> list[Spot]:
    plain = unify_punctuation(unescape(text))
    return [Spot(zone, plain, m.start(), m.end()) for m in _CANDIDATE.finditer(plain)]
