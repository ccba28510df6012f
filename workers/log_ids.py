"""The ids a queued job's log lines carry (`ingest.log_context`): its intake and ticket,
read from its message's arguments before the actor runs (`workers.broker.LogContext`)."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from workers.store.schema import AckRow, PageRow, TicketRow

log = logging.getLogger("guichet.logs")


def of_message(sessions, actor: str, args) -> dict:
    """The request a message of `actor` works for; {} when it cannot tell."""
    if not args:
        return {}
    if actor == "create_ticket":
        return {"intake_id": args[0]}
    if actor == "send_ack":
        return of_ack(sessions, args[0])
    if actor == "page_oncall":
        return of_page(sessions, args[0])
    return {}


def of_ack(sessions, ack_id: int) -> dict:
    """intake_id and ticket of an acknowledgement; none when they cannot be read now (the
    job itself then fails and is retried as before)."""
    query = (
        select(AckRow.intake_id, TicketRow.number)
        .join(TicketRow, TicketRow.id == AckRow.ticket_id)
        .where(AckRow.id == ack_id)
    )
    return _first(sessions, query, ("intake_id", "ticket"))


def of_page(sessions, page_id: int) -> dict:
    query = (
        select(TicketRow.number)
        .join(PageRow, PageRow.ticket_id == TicketRow.id)
        .where(PageRow.id == page_id)
    )
    return _first(sessions, query, ("ticket",))


def _first(sessions, query, names: tuple[str, ...]) -> dict:
    try:
        with sessions() as session:
            row = session.execute(query).first()
    except SQLAlchemyError:
        return {}
    return dict(zip(names, row, strict=True)) if row else {}
