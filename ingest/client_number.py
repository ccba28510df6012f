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

    def lines(self) -> tuple[str, str, str]:
        """(previous line, its own line up to the number, its own line after the number)."""
        head = self.text[: self.start].split("\n")
        return (head[-2] if len(head) > 1 else ""), head[-1], self.text[self.end :].split("\n")[0]


@lru_cache(maxsize=1)
def _vocab() -> dict:
    return config_files.load("vocabulary")["client_number"]


def _words(text: str) -> list[str]:
    return _TOKEN.findall(fold(text))


@lru_cache(maxsize=8)
def _around(key: str, template: str) -> re.Pattern:
    """A vocabulary list set into a regex template, e.g. "after the number, a unit"."""
    return re.compile(template.replace("LIST", phrase_regex(_vocab()[key]).pattern))


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
        after = _around("quantity_after", r"\s?(?:LIST)").match(fold(spot.after(20)))
        return bool(
            after or _around("currency_before", r"(?:LIST)\s?$").search(fold(spot.before(8)))
        )


class Postcode:
    name = "postcode"
    description = "followed by a town or cedex, in an address, or before an ALL-CAPS town"

    def rejects(self, spot: Spot) -> bool:
        previous, before, after = spot.lines()
        if _around("postcode_next_words", r"\s*(?:LIST)").match(fold(after)):
            return True
        near = fold(before + "\n" + previous)
        return bool(_around("address_words", "LIST").search(near)) or self._caps_town(after)

    @staticmethod
    def _caps_town(after: str) -> bool:
        found = re.match(r"\s+([A-ZÀ-Ý][A-ZÀ-Ý' -]{2,})\s*$", after)
        if not found:
            return False
        names = set(_words(found.group(1)))
        return not names & set(_vocab()["not_place_words"])


STRUCTURAL = (GluedToWord(), PartOfLongerNumber(), InsideAddress(), TicketTag(), Quantity())


def anchor(spot: Spot) -> str | None:
    """Walk back over fillers: "keyword", "weak-keyword", "decoy-word" or None."""
    v = _vocab()
    found = None
    previous, before, _ = spot.lines()
    words = reversed(_words(before or previous))
    for seen, word in enumerate(words):
        if word in v["keywords"]:
            return "keyword"
        if word in v["decoy_words"]:
            return "decoy-word"
        if word not in v["fillers"] or seen >= v["max_fillers"]:
            break
        found = "weak-keyword" if word in v["weak_keywords"] else found
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


# --- strategies: tried in order, the first that finds a number decides ------------------------


@dataclass
class Search:
    """What the strategies look at: the zones of one message and the directory test."""

    content: Content
    zones: dict[str, str]
    known: Callable[[str], bool]
    findings: list[Finding]

    def judged(self, zones: tuple[str, ...], kind: str) -> list[Spot]:
        found = []
        for zone in zones:
            for spot in spots(zone, self.zones.get(zone, "")):
                verdict, rule = judge(spot)
                if verdict == "rejected":
                    self._reject(spot, rule)
                elif verdict == kind:
                    found.append(spot)
        return found

    def _reject(self, spot: Spot, rule: str) -> None:
        why = f"{spot.number!r} in the {spot.zone} looks like something else ({rule})"
        finding = Finding(rule, FIELD, spot.number, why)
        if finding not in self.findings:
            self.findings.append(finding)

    def choose(self, found: list[Spot]) -> Spot | None:
        """The first spot, or the first one the directory knows when several numbers differ."""
        if len({s.number for s in found}) > 1:
            return next((s for s in found if self.known(s.number)), found[0])
        return found[0] if found else None


class DeclaredField:
    name = "declared-field"
    description = "the client_number field a partner system declared"

    def find(self, search: Search) -> NumberMatch | None:
        value = search.content.declared.get("client_number")
        if isinstance(value, int) and 0 <= value < 100000:
            value = f"{value:05d}"
        digits = re.sub(r"\s", "", str(value or ""))
        return (
            NumberMatch(digits, self.name, "declared") if re.fullmatch(r"\d{5}", digits) else None
        )


class RecipientTag:
    name = "recipient-tag"
    description = "a +tag on the support address (support+12345@…)"

    def find(self, search: Search) -> NumberMatch | None:
        content = search.content
        addresses = content.recipients + [
            h
            for name in ("To", "Cc", "Delivered-To", "X-Original-To")
            for h in content.header_all(name)
        ]
        for address in addresses:
            found = _TAG.search(address or "")
            if found:
                return NumberMatch(found.group(1), self.name, "recipient")
        return None


class ZoneRule:
    """Numbers of one kind (next to a keyword, or bare) in the listed zones, in order."""

    def __init__(self, name: str, description: str, kind: str, zones: tuple[str, ...]):
        self.name, self.description, self.kind, self.zones = name, description, kind, zones

    def find(self, search: Search) -> NumberMatch | None:
        spot = search.choose(search.judged(self.zones, self.kind))
        return NumberMatch(spot.number, self.name, spot.zone) if spot else None


OWN_ZONES = ("subject", "body", "signature")
RULES = (
    DeclaredField(),
    RecipientTag(),
    ZoneRule(
        "keyword", "next to client/compte/account/n°… in the customer's text", "keyword", OWN_ZONES
    ),
    ZoneRule("bare-number", "a lone 5-digit number in the customer's text", "bare", OWN_ZONES),
    ZoneRule("keyword-in-history", "next to a keyword in quoted history", "keyword", ("quoted",)),
    ZoneRule("bare-in-history", "a lone 5-digit number in quoted history", "bare", ("quoted",)),
)


def find_client_number(
    content: Content, split: Split | None = None, *, known: Callable[[str], bool] | None = None
) -> tuple[NumberMatch | None, list[Finding]]:
    """The client number of a request (first rule that finds one) and the trail of findings."""
    split = split or split_text(content.text)
    zones = {"subject": content.subject, "body": split.new_text, "signature": split.signature}
    search = Search(content, zones | {"quoted": split.quoted}, known or (lambda _n: False), [])
    for rule in RULES:
        match = rule.find(search)
        if match:
            why = f"{rule.description} ({match.where})"
            return match, [*search.findings, Finding(rule.name, FIELD, match.number, why)]
    return None, [
        *search.findings,
        Finding("no-client-number", FIELD, None, "no 5-digit client number found"),
    ]
