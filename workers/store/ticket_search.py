"""Recent tickets for the console: filters (urgency, identity, acknowledged) and search by number or sender."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from workers.store.schema import AckRow, TicketRow

URGENCIES = ("urgent", "routine")
IDENTITIES = ("verified", "unverified")
ACKNOWLEDGED = ("yes", "no")
QUERY_MAX = 200


@dataclass(frozen=True)
class TicketFilter:
    urgency: str = ""
    identity: str = ""
    acknowledged: str = ""
    query: str = ""
    before: int | None = None  # the id to page from (older tickets)
    limit: int = 50

    @classmethod
    def from_args(cls, args) -> TicketFilter:
        """From a query string: unknown values are ignored rather than refused."""

        def pick(name, allowed):
            value = args.get(name, "")
            return value if value in allowed else ""

        before = args.get("before", "")
        return cls(
            urgency=pick("urgency", URGENCIES),
            identity=pick("identity", IDENTITIES),
            acknowledged=pick("acknowledged", ACKNOWLEDGED),
            query=" ".join(args.get("q", "").split())[:QUERY_MAX],
            before=int(before) if before.isdigit() else None,
        )


def _sent():
    return exists().where(AckRow.ticket_id == TicketRow.id, AckRow.status == "sent")


def _matches(query: str):
    """A ticket number, a client number (as written) or part of the sender's address."""
    escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    options = [
        TicketRow.requester.ilike(f"%{escaped}%", escape="\\"),
        TicketRow.client_number == query,
    ]
    if query.isdigit() and len(query) <= 9:
        options.append(TicketRow.number == int(query))
    return or_(*options)


def search(session: Session, wanted: TicketFilter) -> list[tuple[TicketRow, bool]]:
    """Newest first: (ticket, acknowledged) pairs."""
    query = select(TicketRow, _sent().label("acknowledged")).order_by(TicketRow.id.desc())
    if wanted.urgency:
        query = query.where(TicketRow.urgency == wanted.urgency)
    if wanted.identity:
        query = query.where(TicketRow.identity_status == wanted.identity)
    if wanted.acknowledged:
        query = query.where(_sent() if wanted.acknowledged == "yes" else ~_sent())
    if wanted.query:
        query = query.where(_matches(wanted.query))
    if wanted.before:
        query = query.where(TicketRow.id < wanted.before)
    return [(row, bool(acked)) for row, acked in session.execute(query.limit(wanted.limit))]
