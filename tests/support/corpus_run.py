"""The generated corpus run through the real stack: originals, copies, malformed and automatic mail first, then every kind of reply to the acknowledgements, then the figures."""

from __future__ import annotations

import email
import email.policy
import random
import re
import smtplib
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from tests.support import corpus_mail as mails
from tests.support.corpus_people import (
    PUBLIC_PROVIDERS,
    Organisation,
    Person,
    organisations,
    write_directory,
)
from workers.store.engine import session_factory
from workers.store.schema import AckRow, IntakeRow, MessageRow

# Replies that must end on the ticket of the mail they answer (the "should join" kinds).
JOINING = ("parallel", "requester", "tag-only", "colleague", "declared", "out-of-office", "chain")
STRANGERS = ("stranger", "stranger-tag", "stranger-public")
AUTOMATIC = ("out-of-office", "bounce", "autoreply")
SHARES = {  # per 2,000 mails
    "parallel": 60, "requester": 90, "tag-only": 30, "colleague": 60, "declared": 12,
    "out-of-office": 25, "chain": 25, "stranger": 20, "stranger-tag": 10, "stranger-public": 5,
    "duplicate": 30, "malformed": 35, "bounce": 10, "autoreply": 15,
}  # fmt: skip


@dataclass
class Sent:
    kind: str
    raw: bytes
    sender: str  # envelope sender ("" for a bounce)
    message_id: str = ""  # without brackets
    parent: str | None = None  # the mail whose ticket it must join (joining kinds)
    pointed: str | None = None  # the mail of another customer it names (strangers)


@dataclass
class Corpus:
    orgs: list[Organisation]
    directory: Path
    rng: random.Random
    counts: dict[str, int]
    first: list[list[Sent]] = field(default_factory=list)  # batches sent back to back
    second: list[list[Sent]] = field(default_factory=list)
    originals: list[tuple[Organisation, Person, email.message.EmailMessage]] = field(
        default_factory=list
    )

    def all_sent(self) -> list[Sent]:
        return [s for batch in self.first + self.second for s in batch]


def _mid(message) -> str:
    return str(message["Message-ID"]).strip().strip("<>")


def _sent(kind: str, message, person: Person, **links) -> Sent:
    return Sent(kind, mails.raw(message), person.address, _mid(message), **links)


def build(total: int, directory: Path, seed: int = 7) -> Corpus:
    """The mails sent before any acknowledgement exists; replies come in `plan_replies`."""
    counts = {k: max(1, round(v * total / 2000)) for k, v in SHARES.items()}
    counts["original"] = total - sum(counts.values())
    rng = random.Random(seed)
    orgs = organisations(max(20, total // 10), seed)
    corpus = Corpus(orgs, write_directory(orgs, directory), rng, counts)
    for n in range(counts["original"]):
        org = orgs[n % len(orgs)]
        person = rng.choice(org.declared)
        message = mails.original(org, person, rng, shape=n % 4)
        corpus.originals.append((org, person, message))
        corpus.first.append([_sent("original", message, person)])
    _parallel_replies(corpus)
    _copies_and_damage(corpus)
    return corpus


def _parallel_replies(corpus: Corpus) -> None:
    """A reply sent right behind its parent, both filed at the same moment."""
    for n, batch in enumerate(corpus.first[: corpus.counts["parallel"]]):
        parent = batch[0]
        _, person, message = corpus.originals[n]
        follow = mails.reply(person, "Re: " + str(message["Subject"]), f"<{parent.message_id}>", [f"<{parent.message_id}>"], corpus.rng)  # fmt: skip
        batch.append(_sent("parallel", follow, person, parent=parent.message_id))


def _copies_and_damage(corpus: Corpus) -> None:
    rng, first = corpus.rng, corpus.first
    for n in range(corpus.counts["duplicate"]):
        copy = first[rng.randrange(corpus.counts["original"])][0]
        hop = b"Received: from mx%d.example by mx.dri.example\r\n" % n if n % 2 else b""
        first.append([Sent("duplicate", hop + copy.raw, copy.sender, copy.message_id)])
    for n in range(corpus.counts["malformed"]):
        org = corpus.orgs[rng.randrange(len(corpus.orgs))]
        person = org.declared[0]
        message = mails.original(org, person, rng, shape=n % 4)
        first.append([Sent("malformed", mails.malformed(message, n % 10, rng), person.address, _mid(message))])  # fmt: skip
    for _ in range(corpus.counts["bounce"]):
        report = mails.bounce(rng)
        mid = re.search(rb"Message-ID: <([^>]+)>", report).group(1).decode()
        first.append([Sent("bounce", report, "", mid)])
    for _ in range(corpus.counts["autoreply"]):
        person = rng.choice(rng.choice(corpus.orgs).people)
        away = mails.out_of_office(person, "Votre message", f"<x{rng.getrandbits(32):x}@dri.example>", rng)  # fmt: skip
        first.append([_sent("autoreply", away, person)])
    rng.shuffle(first)


@dataclass(frozen=True)
class Ack:
    message_id: str
    subject: str
    tag: str


def acks_by_parent(deliveries: list[dict]) -> dict[str, Ack]:
    """The acknowledgement of each original, by the original's Message-ID."""
    found = {}
    for delivery in deliveries:
        ack = email.message_from_bytes(delivery["data"], policy=email.policy.default)
        parent = str(ack.get("In-Reply-To", "")).strip().strip("<>")
        tag = re.search(r"\[DRI #\d+\]", str(ack["Subject"]))
        if parent and tag:
            found[parent] = Ack(str(ack["Message-ID"]), str(ack["Subject"]), tag.group())
    return found


def plan_replies(corpus: Corpus, acks: dict[str, Ack]) -> None:
    """Every kind of reply to acknowledged originals, with the ticket each must end on."""
    rng, counts = corpus.rng, corpus.counts
    answered = [o for o in corpus.originals if _mid(o[2]) in acks]
    rng.shuffle(answered)
    position = 0
    for kind in (*JOINING[1:], *STRANGERS):
        make = _stranger if kind in STRANGERS else _joining
        for _ in range(counts[kind]):
            for _ in range(200):  # the next answered original this kind of reply fits
                made = make(kind, answered[position % len(answered)], acks, corpus)
                position += 1
                if made is not None:
                    corpus.second.append([made])
                    break
    rng.shuffle(corpus.second)


def _joining(kind: str, original, acks: dict[str, Ack], corpus: Corpus) -> Sent | None:
    org, person, message = original
    rng, mid = corpus.rng, _mid(message)
    ack = acks[mid]
    if kind in ("colleague", "out-of-office"):
        person = _colleague(org, person, rng, own_domain=True)
    elif kind == "declared":
        person = _colleague(org, person, rng, own_domain=False)
    if person is None:
        return None
    subject = rng.choice(["RE: ", "Re: ", "TR: ", "AW: "]) + ack.subject
    if kind == "tag-only":
        made = mails.reply(person, f"Suite {ack.tag}", None, [], rng)
    elif kind == "out-of-office":
        made = mails.out_of_office(person, str(message["Subject"]), f"<{mid}>", rng)
    elif kind == "chain":  # the oldest reference is another customer's mail
        other = _mid(rng.choice(corpus.originals)[2])
        made = mails.reply(person, subject, ack.message_id, [f"<{other}>", f"<{mid}>", ack.message_id], rng)  # fmt: skip
    else:
        made = mails.reply(person, subject, ack.message_id, [f"<{mid}>", ack.message_id], rng)
    return _sent(kind, made, person, parent=mid)


def _colleague(org: Organisation, person: Person, rng, own_domain: bool) -> Person | None:
    """Someone else at the organisation the system can tell is one: same own domain, or declared."""
    if own_domain and org.domain:
        choices = [
            p for p in org.people if p is not person and p.address.endswith("@" + org.domain)
        ]
    else:
        choices = [p for p in org.declared if p is not person and p.address.rpartition("@")[2] != person.address.rpartition("@")[2]]  # fmt: skip
    return rng.choice(choices) if choices else None


def _stranger(kind: str, original, acks: dict[str, Ack], corpus: Corpus) -> Sent | None:
    org, person, message = original
    rng, mid = corpus.rng, _mid(message)
    ack = acks[mid]
    if kind == "stranger-public":  # someone else at the requester's public mailbox provider
        provider = person.address.rpartition("@")[2]
        if provider not in PUBLIC_PROVIDERS:
            return None
        other = Person("Paul Inconnu", f"paul.inconnu{rng.getrandbits(16)}@{provider}", False)
    else:
        other_org = rng.choice([o for o in corpus.orgs if o is not org and o.domain])
        other = other_org.declared[0]
    if kind == "stranger-tag":
        made = mails.reply(other, f"Même problème que {ack.tag}", None, [], rng)
    else:
        made = mails.reply(other, "Re: " + ack.subject, ack.message_id, [ack.message_id], rng)
    return _sent(kind, made, other, pointed=mid)


def send_all(address: tuple[str, int], batches: list[list[Sent]], concurrency: int, progress: Callable[[int], None] = lambda n: None) -> list[int]:  # fmt: skip
    """Send each batch back to back on one connection, `concurrency` connections at once;
    returns the SMTP codes of the final replies."""

    def one(batch: list[Sent]) -> list[int]:
        codes = []
        with smtplib.SMTP(*address, timeout=60) as smtp:
            for sent in batch:
                try:
                    smtp.sendmail(sent.sender, [mails.SUPPORT], sent.raw)
                    codes.append(250)
                except smtplib.SMTPResponseException as refused:
                    codes.append(refused.smtp_code)
        progress(len(batch))
        return codes

    with ThreadPoolExecutor(concurrency) as pool:
        return [code for codes in pool.map(one, batches) for code in codes]


def figures(database_url: str, corpus: Corpus) -> dict:
    """Threaded replies, colleagues, false merges, copies, automatic mail, malformed mail."""
    with session_factory(database_url)() as session:
        ticket_of = dict(session.execute(select(MessageRow.message_id, MessageRow.ticket_id)).all())
        intakes = session.execute(
            select(IntakeRow.id, IntakeRow.message_id, IntakeRow.status)
        ).all()
        acked = set(session.scalars(select(AckRow.intake_id).where(AckRow.status == "sent")))
    sent = corpus.all_sent()
    by_kind = {}
    for s in sent:
        by_kind.setdefault(s.kind, []).append(s)
    joined = {k: sum(1 for s in by_kind.get(k, []) if s.parent and ticket_of.get(s.message_id) == ticket_of.get(s.parent)) for k in JOINING}  # fmt: skip
    merged = sum(1 for k in STRANGERS for s in by_kind.get(k, []) if ticket_of.get(s.message_id) == ticket_of.get(s.pointed))  # fmt: skip
    status_of = {}
    for intake_id, message_id, status in intakes:
        status_of.setdefault(message_id, []).append((intake_id, status))
    auto_ids = {s.message_id for k in AUTOMATIC for s in by_kind.get(k, []) if s.message_id}
    return {
        "mails": len(sent),
        "kinds": {k: len(v) for k, v in sorted(by_kind.items())},
        "replies": sum(len(by_kind.get(k, [])) for k in JOINING),
        "replies_threaded": sum(joined.values()),
        "threaded_by_kind": {k: [joined[k], len(by_kind.get(k, []))] for k in JOINING},
        "colleague_replies": [
            joined["colleague"] + joined["declared"] + joined["out-of-office"],
            sum(len(by_kind.get(k, [])) for k in ("colleague", "declared", "out-of-office")),
        ],  # fmt: skip
        "stranger_replies": sum(len(by_kind.get(k, [])) for k in STRANGERS),
        "false_merges": merged,
        "duplicates_filed_as_duplicates": sum(
            1
            for mid in {s.message_id for s in by_kind.get("duplicate", [])}
            for _, st in status_of.get(mid, [])
            if st == "duplicate"
        ),  # fmt: skip
        "automatic_acknowledged": sum(
            1 for mid in auto_ids for iid, _ in status_of.get(mid, []) if iid in acked
        ),  # fmt: skip
        "malformed_ticketed": [
            sum(
                1
                for s in by_kind.get("malformed", [])
                if all(
                    st in ("ticketed", "duplicate")
                    for _, st in status_of.get(s.message_id, [("", "missing")])
                )
            ),
            len(by_kind.get("malformed", [])),
        ],  # fmt: skip
        "intakes_not_filed": sum(1 for _, _, st in intakes if st not in ("ticketed", "duplicate")),
    }


def run(stack, sink, total: int, *, seed: int = 7, concurrency: int = 8, work: Path, progress=print) -> dict:  # fmt: skip
    """Generate, send in two phases through the stack, wait, and measure."""
    corpus = build(total, work / "directory.csv", seed)
    stack.import_directory(corpus.directory)
    started = time.monotonic()
    progress(f"phase 1: {sum(len(b) for b in corpus.first)} mails")
    codes = send_all(stack.smtp_address, corpus.first, concurrency)
    stack.settle(timeout=max(120, total))
    plan_replies(corpus, acks_by_parent(sink.handler.messages))
    progress(f"phase 2: {sum(len(b) for b in corpus.second)} replies")
    codes += send_all(stack.smtp_address, corpus.second, concurrency)
    stack.settle(timeout=max(120, total))
    result = figures(stack.settings.database, corpus)
    result["seconds"] = round(time.monotonic() - started, 1)
    result["not_250"] = sum(1 for c in codes if c != 250)
    return result
