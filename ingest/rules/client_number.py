"""Ordered strategies that find the 5-digit client number (its look-alikes: number_decoys)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice

from ingest.model import Content, Finding
from ingest.reading.normalize import fold, unescape, unify_punctuation
from ingest.reading.phrase_scan import has_phrase
from ingest.reading.text_split import Split, split_text
from ingest.rules.number_decoys import STRUCTURAL, Postcode, last_number_words, vocab
from ingest.rules.number_spots import Spot

FIELD = "client_number"
_CANDIDATE = re.compile(r"(?<!\d)(\d{5}|\d{2}[ ]\d{3})(?!\d)")
_TAG = re.compile(r"\+(\d{5})@")


@dataclass(frozen=True)
class NumberMatch:
    number: str  # five digits, as written once spaces are removed
    rule: str  # the strategy that found it
    where: str  # "declared" | "recipient" | "subject" | "body" | "signature" | "quoted"


def anchor(spot: Spot) -> str | None:
    """Walk back over fillers: "keyword", "weak-keyword", "decoy-word" or None."""
    v = vocab()
    found = None
    previous, before, _ = spot.lines()
    words = reversed(last_number_words(before or previous, v["max_fillers"] + 1))
    for seen, word in enumerate(words):
        if word in v["keywords"]:
            return "keyword"
        if word in v["decoy_words"]:
            return "decoy-word"
        if word not in v["fillers"] or seen >= v["max_fillers"]:
            break
        found = "weak-keyword" if word in v["weak_keywords"] else found
    return found


def claimed(spot: Spot) -> bool:
    """The writer says the number is theirs ("notre numéro client", "our account", their own
    signature) and not a third party's ("notre société sœur", "our partner's")."""
    v = vocab()
    if spot.zone == "signature":
        return True
    before = spot.lines()[1][-v["own_number_window"] :]
    near = " ".join(last_number_words(before, v["own_number_words"]))
    return has_phrase(near, v["own_number_markers"]) and not has_phrase(
        fold(before), v["other_party_markers"]
    )


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
    """The first `max_numbers_per_zone` candidates: a customer gives a few numbers, a data dump
    thousands, and judging each of those would cost more than the whole mail is worth."""
    plain = unify_punctuation(unescape(text))
    found = islice(_CANDIDATE.finditer(plain), vocab()["max_numbers_per_zone"])
    return [Spot(zone, plain, m.start(), m.end()) for m in found]


# --- strategies: tried in order, the first that finds a number decides ------------------------


@dataclass
class Search:
    """What the strategies look at: the zones of one message and the directory test."""

    content: Content
    zones: dict[str, str]
    known: Callable[[str], bool]
    findings: list[Finding]
    verdicts: dict[str, list] = field(default_factory=dict)  # zone: [(spot, verdict, rule)]
    rejected: set = field(default_factory=set)  # (rule, number, why) already in findings

    def judged(self, zones: tuple[str, ...], kind: str) -> list[Spot]:
        found = []
        for zone in zones:
            if zone not in self.verdicts:
                zone_spots = spots(zone, self.zones.get(zone, ""))
                self.verdicts[zone] = [(spot, *judge(spot)) for spot in zone_spots]
            for spot, verdict, rule in self.verdicts[zone]:
                if verdict == "rejected":
                    self._reject(spot, rule)
                elif verdict == kind:
                    found.append(spot)
        return found

    def _reject(self, spot: Spot, rule: str) -> None:
        why = f"{spot.number!r} in the {spot.zone} looks like something else ({rule})"
        if (rule, spot.number, why) not in self.rejected:
            self.rejected.add((rule, spot.number, why))
            self.findings.append(Finding(rule, FIELD, spot.number, why))

    def choose(self, found: list[Spot]) -> Spot | None:
        """The first spot; when several numbers differ, the first of those the writer calls
        their own (else of all) that the directory knows."""
        if len({s.number for s in found}) > 1:
            found = [s for s in found if claimed(s)] or found
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
