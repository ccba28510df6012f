"""Which ticket a message belongs to: In-Reply-To, References from the newest, then the subject tag, guarded against false merges."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ingest.model import Content, Identity
from ingest.reading.subjects import strip_reply_prefixes
from workers.store.colleagues import may_join
from workers.store.journal import storable
from workers.store.schema import AckRow, IntakeRow, MessageRow, TicketRow

MAX_REFERENCES = 50  # the newest ids of a References header that are looked up
MAX_PARENTS = 10  # unfiled earlier intakes a reply may file before itself


@dataclass
class ThreadMatch:
    ticket: TicketRow | None
    via: str | None = None  # "in-reply-to", "references", "subject-tag"
    reason: str | None = None  # why the sender may join: "requester", "colleague"…
    refused: TicketRow | None = None  # the first ticket the message pointed at but may not join
    why: str = ""


def tag_pattern(label: str) -> re.Pattern:
    """ "[DRI #100042]" with tolerance for case, spaces and a missing '#'."""
    return re.compile(rf"\[\s*{re.escape(label)}\s*#?\s*(\d{{6,}})\s*\]", re.IGNORECASE)


def tag_for(label: str, number: int) -> str:
    return f"[{label} #{number}]"


def ticket_title(subject: str, label: str) -> str:
    """The subject without reply/forward prefixes and without our tags ("Re: [DRI #1] RE: x" → "x")."""
    untagged = tag_pattern(label).sub(" ", strip_reply_prefixes(subject))
    return strip_reply_prefixes(untagged)


def find_thread(
    session: Session, content: Content, identity: Identity, sender: str, label: str
) -> ThreadMatch:
    """The first candidate ticket the sender may join; else the first one refused, to link to."""
    first_refused: tuple[str, TicketRow] | None = None
    for via, ticket in candidates(session, content, label):
        reason = may_join(session, ticket, identity, sender)
        if reason:
            return ThreadMatch(ticket, via, reason)
        first_refused = first_refused or (via, ticket)
    if first_refused is None:
        return ThreadMatch(None)
    via, ticket = first_refused
    why = f"{via} points to ticket {ticket.number} of another requester"
    return ThreadMatch(None, refused=ticket, why=why)


def reply_ids(content: Content) -> list[tuple[str, str]]:
    """(via, message id) in the order they are tried: In-Reply-To, then References newest first."""
    found = [("in-reply-to", i) for i in content.in_reply_to]
    found += [("references", i) for i in reversed(content.references[-MAX_REFERENCES:])]
    seen, ordered = set(), []
    for via, mid in found:
        mid = storable(mid[:998]) if mid else mid
        if mid and mid not in seen:
            seen.add(mid)
            ordered.append((via, mid))
    return ordered


def candidates(session: Session, content: Content, label: str):
    """Tickets named by the message, each once, in the order they are tried."""
    tried: set[int] = set()
    ids = reply_ids(content)
    owners = _tickets_by_message_id(session, [mid for _, mid in ids])
    for via, mid in ids:
        for ticket_id in owners.get(mid, ()):
            if ticket_id not in tried:
                tried.add(ticket_id)
                yield via, session.get(TicketRow, ticket_id)
    for number in _tagged_numbers(content.subject, label):
        ticket = session.scalar(select(TicketRow).where(TicketRow.number == number))
        if ticket is not None and ticket.id not in tried:
            tried.add(ticket.id)
            yield "subject-tag", ticket


def _tickets_by_message_id(session: Session, ids: list[str]) -> dict[str, list[int]]:
    """message id → the tickets holding it, newest message first (ours and the customers')."""
    if not ids:
        return {}
    owners: dict[str, list[int]] = {}
    for table in (MessageRow, AckRow):
        rows = session.execute(
            select(table.message_id, table.ticket_id)
            .where(table.message_id.in_(ids))
            .order_by(table.id.desc())
        )
        for mid, ticket_id in rows:
            owners.setdefault(mid, []).append(ticket_id)
    return owners


def _tagged_numbers(subject: str, label: str) -> list[int]:
    numbers = [int(m.group(1)) for m in tag_pattern(label).finditer(subject or "")]
    return list(dict.fromkeys(numbers))[:5]


def unfiled_parents(session: Session, content: Content, intake: IntakeRow) -> list[IntakeRow]:
    """Earlier intakes this message replies to that are stored but not filed yet.

    Only intakes received before this one (by time, then id) count, so two workers can never
    wait on each other: the order of filing follows the order of arrival."""
    ids = [mid for _, mid in reply_ids(content)]
    if not ids:
        return []
    earlier = or_(
        IntakeRow.received_at < intake.received_at,
        and_(IntakeRow.received_at == intake.received_at, IntakeRow.id < intake.id),
    )
    query = (
        select(IntakeRow)
        .where(IntakeRow.message_id.in_(ids), IntakeRow.status == "received", earlier)
        .order_by(IntakeRow.received_at, IntakeRow.id)
        .limit(MAX_PARENTS)
    )
    return list(session.scalars(query))
