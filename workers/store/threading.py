"""Which ticket a message belongs to: subject tag, In-Reply-To, References, guarded against false merges."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ingest.model import Content, Identity
from workers.store.journal import storable
from workers.store.schema import AckRow, MessageRow, TicketRow


@dataclass
class ThreadMatch:
    ticket: TicketRow | None
    via: str | None = None  # "references", "subject-tag"
    refused: TicketRow | None = None  # a ticket the message pointed at but may not join
    why: str = ""


def tag_pattern(label: str) -> re.Pattern:
    """ "[DRI #100042]" with tolerance for case, spaces and a missing '#'."""
    return re.compile(rf"\[\s*{re.escape(label)}\s*#?\s*(\d{{6,}})\s*\]", re.IGNORECASE)


def tag_for(label: str, number: int) -> str:
    return f"[{label} #{number}]"


def find_thread(
    session: Session, content: Content, identity: Identity, sender: str, label: str
) -> ThreadMatch:
    for via, ticket in _candidates(session, content, label):
        if _may_join(ticket, identity, sender):
            return ThreadMatch(ticket, via)
        return ThreadMatch(
            None, refused=ticket, why=f"{via} points to ticket {ticket.number} of another requester"
        )
    return ThreadMatch(None)


def _candidates(session: Session, content: Content, label: str):
    ids = [storable(i) for i in content.in_reply_to + list(reversed(content.references)) if i]
    if ids:
        ticket_id = session.scalar(
            select(MessageRow.ticket_id).where(MessageRow.message_id.in_(ids)).limit(1)
        ) or session.scalar(select(AckRow.ticket_id).where(AckRow.message_id.in_(ids)).limit(1))
        if ticket_id:
            yield "references", session.get(TicketRow, ticket_id)
    match = tag_pattern(label).search(content.subject or "")
    if match:
        ticket = session.scalar(select(TicketRow).where(TicketRow.number == int(match.group(1))))
        if ticket:
            yield "subject-tag", ticket


def _may_join(ticket: TicketRow, identity: Identity, sender: str) -> bool:
    """The requester themself, or someone who proved to be of the same account."""
    if sender and sender.lower() == (ticket.requester or "").lower():
        return True
    same_account = identity.client_number and identity.client_number == ticket.client_number
    return bool(same_account and identity.status == "verified")


def by_dedup_key(session: Session, key: str) -> MessageRow | None:
    return session.scalar(select(MessageRow).where(MessageRow.dedup_key == key))
