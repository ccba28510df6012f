"""The ids a queued job's log lines carry (`ingest.log_context`): its intake and ticket."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from workers.store.schema import AckRow, PageRow, TicketRow

log = logging.getLogger("guichet.logs")


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
