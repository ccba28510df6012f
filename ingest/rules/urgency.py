"""Sort a request as routine or urgent from its signals, and check the account may have urgent handling."""

from __future__ import annotations

import re

from ingest.directory import Account
from ingest.model import Content, Finding, Urgency
from ingest.reading.normalize import fold
from ingest.reading.phrase_scan import find_phrases, has_phrase, mask, phrase_regex
from ingest.rules.suppression import (
    AutoresponderHeader,
    AutoSubmitted,
    DeliveryReport,
    ListMail,
    OutOfOffice,
    PrecedenceBulk,
)
from ingest.rules.urgency_context import clause_has, customer_text, terms
from ingest.rules.urgency_context import vocab as _vocab
from ingest.rules.urgency_scope import (
    AUTOMATIC,
    ROUTINE,
    STRONG,
    UNHURRIED,
    WEAK,
    Signal,
    scoped,
)

FIELD = "urgency"


# --- the signal rules, run in order -----------------------------------------------------------


class AutomaticMessage:
    name = "automatic-message"
    description = (
        "an auto-reply, bounce, bulk or list mail asks for nothing (and never pages on-call)"
    )
    detectors = (
        AutoSubmitted(),
        AutoresponderHeader(),
        OutOfOffice(),
        DeliveryReport(),
        PrecedenceBulk(),
        ListMail("list_headers", "list_precedence_values"),
    )

    def signals(self, content: Content, text: str, urgent_addresses) -> list[Signal]:
        if content.channel != "smtp":
            return []
        fired = [d.name for d in self.detectors if d.why(content, set())]
        return [Signal(self.name, AUTOMATIC, fired[0])] if fired else []


class UrgentAddress:
    name = "urgent-address"
    description = "sent to the dedicated urgent address"

    def signals(self, content: Content, text: str, urgent_addresses) -> list[Signal]:
        wanted = {a.lower() for a in urgent_addresses}
        headers = " ".join(content.header_all("To") + content.header_all("Cc"))
        addresses = content.recipients + re.findall(r"[\w.+-]+@[\w.-]+", headers)
        plain = {re.sub(r"\+[^@]*@", "@", a.lower()) for a in addresses}
        hits = sorted(plain & wanted)
        return [Signal(self.name, STRONG, hits[0])] if hits else []


class DeclaredSeverity:
    name = "declared-severity"
    description = "the severity a partner system declared (critical/major… or minor/info…)"

    def signals(self, content: Content, text: str, urgent_addresses) -> list[Signal]:
        value = str(content.declared.get("severity") or "").strip().lower()
        if value in _vocab()["strong_severities"]:
            return [Signal(self.name, STRONG, value)]
        return (
            [Signal(self.name, ROUTINE, value)] if value in _vocab()["routine_severities"] else []
        )


class Unhurried:
    name = "unhurried"
    description = 'the customer says it can wait ("pas urgent", "non bloquant", "no rush")'

    def signals(self, content: Content, text: str, urgent_addresses) -> list[Signal]:
        said = list(find_phrases(text, _vocab()["unhurried"]))
        said += [m for m, neg in terms(text, "severity_terms") if neg]
        return [Signal(self.name, UNHURRIED, " ".join(m.group().split()), m.start()) for m in said]


class SeverityWords:
    name = "severity-words"
    description = 'the customer asks for urgent handling ("urgent", "critique", "bloquant")'

    def signals(self, content: Content, text: str, urgent_addresses) -> list[Signal]:
        if has_phrase(mask(text, _vocab()["technical_systems"]), _vocab()["commercial"]):
            return []  # "urgent" about an invoice is no request for technical urgent handling
        found = terms(text, "severity_terms")
        return [Signal(self.name, STRONG, m.group(), m.start()) for m, neg in found if not neg]


class OutageWords:
    name = "outage-words"
    description = 'an outage, inaccessibility or data loss ("en panne", "site down")'

    def signals(self, content: Content, text: str, urgent_addresses) -> list[Signal]:
        found = [m for m, neg in terms(text, "outage_terms", scoped=True) if not neg]
        for m, neg in terms(text, "conditional_outage_terms", scoped=True):
            if not neg and clause_has(text, m, "service_nouns"):
                found.append(m)
        return [Signal(self.name, STRONG, " ".join(m.group().split()), m.start()) for m in found]


class PriorityHeaders:
    name = "priority-header"
    description = "X-Priority: 1, Importance: high, Priority: urgent (weak: never enough alone)"

    def signals(self, content: Content, text: str, urgent_addresses) -> list[Signal]:
        found = []
        for rule in _vocab()["priority_headers"]:
            value = fold(content.header(rule["header"]) or "")
            regex = phrase_regex(rule["values"])
            if value and regex and regex.search(value):
                found.append(Signal(self.name, WEAK, f"{rule['header']}: {value}"))
        return found


RULES = (
    AutomaticMessage(),
    UrgentAddress(),
    DeclaredSeverity(),
    Unhurried(),
    SeverityWords(),
    OutageWords(),
    PriorityHeaders(),
)


def requested(signals: list[Signal]) -> tuple[bool, str]:
    """Did the customer or partner ask for urgent handling, and which kind of signal decided."""
    by_rule = {s.rule: s.strength for s in signals}
    if AutomaticMessage.name in by_rule and by_rule.get(DeclaredSeverity.name) != STRONG:
        return False, "an automatic message is no request"
    if by_rule.get(UrgentAddress.name) == STRONG:
        return True, "sent to the urgent address"
    if DeclaredSeverity.name in by_rule:
        return by_rule[DeclaredSeverity.name] == STRONG, "the partner's declared severity"
    if any(s.strength == UNHURRIED for s in signals):
        return False, "the customer says it can wait"
    if any(s.strength == STRONG for s in signals):
        return True, "urgent or outage wording in the customer's own text"
    return False, "no strong urgency signal (weak signals alone do not count)"


def classify_urgency(
    content: Content, account: Account | None, *, urgent_addresses=()
) -> tuple[Urgency, list[Finding]]:
    """Urgency of a request: urgent only when asked for and the account is eligible."""
    text = customer_text(content)
    signals = [s for rule in RULES for s in rule.signals(content, text, urgent_addresses)]
    findings = [Finding(s.rule, FIELD, s.value, f"{s.strength} signal") for s in signals]
    signals, set_aside = scoped(content, text, signals)
    findings += set_aside
    asked, why = requested(signals)
    eligible = bool(account and account.urgent_eligible)
    level = "urgent" if asked and eligible else "routine"
    if asked and not eligible:
        why += "; no dedicated server, dedicated service or transit on a known account"
    findings.append(Finding("urgency", FIELD, level, why))
    urgency = Urgency(level, asked, eligible, [f"{s.rule}:{s.value}" for s in signals])
    return urgency, findings
