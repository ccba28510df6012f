"""Never-acknowledge rules: auto-replies, bulk and list mail, bounces, our own mail (RFC 3834)."""

from __future__ import annotations

import re
from functools import lru_cache

from ingest import config_files
from ingest.model import Content, Finding, Suppression
from ingest.reading.normalize import fold
from ingest.reading.phrase_scan import phrase_regex

FIELD = "acknowledge"


@lru_cache(maxsize=1)
def _vocab() -> dict:
    return config_files.load("vocabulary")["suppression"]


def plain_address(address: str) -> str:
    """Lower-cased address without its +tag: `Support+12345@DRI.example` → `support@dri.example`."""
    address = (address or "").strip().strip("<>").lower()
    local, at, domain = address.partition("@")
    return local.split("+", 1)[0] + at + domain


def _subject(content: Content) -> str:
    """Folded subject without leading brackets: the automatic phrases come first."""
    return fold(content.subject).strip().lstrip("[( ")


def _local_part(address: str) -> str:
    return plain_address(address).partition("@")[0]


class OwnAddress:
    name = "own-address"
    description = "mail from one of our own addresses (a loop in the making)"

    def why(self, content: Content, own: set[str]) -> str | None:
        senders = {plain_address(content.from_address), plain_address(content.envelope_sender)}
        hit = sorted(senders & own)
        return f"sender {hit[0]} is ours" if hit else None


class NullSender:
    name = "bounce"
    description = "null envelope sender (RFC 5321 section 4.5.5): a delivery report"

    def why(self, content: Content, own: set[str]) -> str | None:
        null = content.channel == "smtp" and not content.envelope_sender.strip("<> ")
        return "null envelope sender" if null else None


class DeliveryReport:
    name = "bounce"
    description = "MAILER-DAEMON/postmaster sender, multipart/report, or a delivery-failure subject"

    def why(self, content: Content, own: set[str]) -> str | None:
        v = _vocab()
        for address in (content.from_address, content.envelope_sender):
            if _local_part(address) in v["bounce_senders"]:
                return f"sent by {address}"
        content_type = content.header("Content-Type") or ""
        report = re.search(r"report-type\s*=\s*\"?([\w-]+)", content_type, re.I)
        if report and report.group(1).lower() in v["report_types"]:
            return f"multipart/report; report-type={report.group(1)}"
        subject = phrase_regex(v["bounce_subjects"])
        return "delivery-failure subject" if subject and subject.match(_subject(content)) else None


class AutoSubmitted:
    name = "auto-submitted"
    description = "Auto-Submitted other than `no` (RFC 3834)"

    def why(self, content: Content, own: set[str]) -> str | None:
        value = (content.header("Auto-Submitted") or "").split(";")[0].strip().lower()
        return f"Auto-Submitted: {value}" if value and value != "no" else None


class AutoresponderHeader:
    name = "autoresponder-header"
    description = (
        "X-Autoreply, X-Autorespond, X-Auto-Response-Suppress, X-Loop, autoresponder X-Mailer"
    )

    def why(self, content: Content, own: set[str]) -> str | None:
        v = _vocab()
        present = [h for h in v["autoresponder_headers"] if content.header(h) is not None]
        if present:
            return f"{present[0]} present"
        suppress = {
            t.strip().lower() for t in (content.header("X-Auto-Response-Suppress") or "").split(",")
        }
        if suppress & set(v["auto_response_suppress_values"]):
            return f"X-Auto-Response-Suppress: {', '.join(sorted(suppress))}"
        mailer = phrase_regex(v["autoresponder_mailers"])
        value = fold(content.header("X-Mailer") or "")
        return f"X-Mailer: {value}" if value and mailer and mailer.search(value) else None


class PrecedenceBulk:
    name = "precedence-bulk"
    description = "Precedence: bulk, junk, list or auto_reply"

    def why(self, content: Content, own: set[str]) -> str | None:
        value = (content.header("Precedence") or "").strip().lower()
        return f"Precedence: {value}" if value in _vocab()["precedence_values"] else None


class ListMail:
    name = "list-mail"
    description = "List-Id, List-Post or Precedence: list; later, a List-Unsubscribe link alone"

    def __init__(self, headers_key: str, precedence_key: str | None = None):
        self.headers_key, self.precedence_key = headers_key, precedence_key

    def why(self, content: Content, own: set[str]) -> str | None:
        v = _vocab()
        present = [h for h in v[self.headers_key] if content.header(h) is not None]
        precedence = (content.header("Precedence") or "").strip().lower()
        if self.precedence_key and precedence in v[self.precedence_key]:
            present.append(f"Precedence: {precedence}")
        return f"{present[0]} present" if present else None


class OutOfOffice:
    name = "out-of-office"
    description = '"Réponse automatique", "Absence du bureau", "Out of Office", "Automatic reply"…'

    def why(self, content: Content, own: set[str]) -> str | None:
        regex = phrase_regex(_vocab()["out_of_office_subjects"])
        hit = regex.match(_subject(content)) if regex else None
        return f"subject says {hit.group()!r}" if hit else None


RULES = (
    OwnAddress(),
    NullSender(),
    DeliveryReport(),
    AutoSubmitted(),
    AutoresponderHeader(),
    ListMail("list_headers", "list_precedence_values"),
    PrecedenceBulk(),
    ListMail("unsubscribe_headers"),
    OutOfOffice(),
)


def suppress(content: Content, *, own_addresses=()) -> tuple[Suppression, list[Finding]]:
    """Whether to acknowledge; the first rule that fires names the reason. Mail is kept either way."""
    own = {plain_address(a) for a in own_addresses if a}
    for rule in RULES:
        why = rule.why(content, own)
        if why:
            return Suppression(False, rule.name), [Finding(rule.name, FIELD, False, why)]
    return Suppression(True, None), [
        Finding("acknowledge", FIELD, True, "no never-acknowledge rule fired")
    ]
