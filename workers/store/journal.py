"""The intake journal: raw requests committed before the edge answers, and the sweeper's view of them."""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from ingest.analysis import Analysis, Envelope
from ingest.idempotency_keys import KeyClaim, Remembered
from ingest.model import Content, content_from_dict
from ingest.reading.contents import content_from
from ingest.stored_json import stored_json
from workers.store.group_commit import GroupCommit
from workers.store.idempotency import claim_keys
from workers.store.schema import EventRow, IntakeRow, utcnow

log = logging.getLogger("guichet.journal")


def storable(text: str | None) -> str | None:
    """Text a database column can hold: PostgreSQL refuses NUL in text, so it becomes U+FFFD.

    Only the columns change; the raw bytes are stored untouched."""
    return text.replace("\x00", "\ufffd") if text and "\x00" in text else text


INTAKES, EVENTS = IntakeRow.__table__, EventRow.__table__
# Built once, their compiled form reused: the journal's rows and every trail line (records.py).
INSERT_INTAKES, INSERT_EVENTS = insert(INTAKES), insert(EVENTS)


def intake_values(intake_id: str, envelope: Envelope, raw: bytes, analysis: Analysis) -> dict:
    """The intake row as the edge stores it, before any worker has seen it."""
    urgent = analysis.decision.urgency.level == "urgent"
    # Encoded by the parser process that analysed it; here only for an analysis made in this
    # process (a review, a parser that died, in-process analysis).
    stored = analysis.stored or stored_json(analysis.decision, analysis.content)
    return {
        "id": intake_id,
        "channel": envelope.channel,
        "received_at": envelope.received_at,
        "envelope_sender": storable(envelope.sender),
        "recipients": [storable(r) for r in envelope.recipients],
        "client_ip": envelope.client_ip,
        "raw": raw,
        "raw_sha256": hashlib.sha256(raw).hexdigest(),
        "message_id": storable(analysis.message_id[:998]),
        "dedup_key": analysis.dedup_key,
        "partner": envelope.partner,
        "source": storable((envelope.source or "")[:200]) or None,
        "decision": stored.decision,
        "content": stored.content,
        "queue": "tickets.urgent" if urgent else "tickets.routine",
        "status": "received",
        "error": storable(analysis.error),
    }


def intake_content(intake: IntakeRow) -> Content:
    """The request as the edge read it (`ingest.stored_json.content_json`), else read again from the raw bytes
    (older rows, text a JSON column may refuse, a copy of a shape this version does not know)."""
    if intake.content is not None:
        try:
            return content_from_dict(intake.content)
        except (TypeError, ValueError, KeyError) as exc:
            log.warning(
                "stored content unusable, parsed again: %s", exc, extra={"intake_id": intake.id}
            )
    return content_from(
        intake.channel,
        intake.raw,
        sender=intake.envelope_sender,
        recipients=intake.recipients,
        client_ip=intake.client_ip,
    )


def _rows(
    intake_id: str,
    envelope: Envelope,
    raw: bytes,
    analysis: Analysis,
    claim: KeyClaim | None = None,
) -> tuple[dict, dict, KeyClaim | None]:
    """The intake row, its "received" trail line, and the idempotency key it came with."""
    return (
        intake_values(intake_id, envelope, raw, analysis),
        {
            "intake_id": intake_id,
            "kind": "received",
            "detail": {"channel": envelope.channel, "size": len(raw), "source": envelope.source},
        },
        claim,
    )


def _made(item: tuple) -> tuple | Exception:
    """`_rows` of one request, or what kept them from being made (a decision with no JSON for
    it): that request fails alone, not its whole batch."""
    try:
        return _rows(*item)
    except (TypeError, ValueError) as exc:
        return exc


def _insert(session: Session, batch: list[tuple]) -> list[Remembered | None]:
    """Each request's rows, unless its key is recorded already (then what is recorded)."""
    connection = session.connection()
    claims = [claim for _, _, claim in batch]
    taken = claim_keys(connection, claims) if any(claims) else [None] * len(batch)
    stored = [rows for rows, found in zip(batch, taken, strict=True) if found is None]
    if stored:
        connection.execute(INSERT_INTAKES, [intake for intake, _, _ in stored])
        connection.execute(INSERT_EVENTS, [event for _, event, _ in stored])
    return taken


class SqlJournal:
    """`ingest.intake.Journal` over the store, with group commit (`group_commit.py`).

    `record` returns once the request's rows are committed. Requests that arrive while a
    commit is under way wait for it, then go together in the next one: one transaction (and
    one fsync) for all of them, each caller still answered only after its own rows are
    durable. A batch that fails is retried one request at a time, so one bad request fails
    alone. Two Core inserts per request: the ORM's unit of work cost twice as much for rows
    never read back."""

    def __init__(self, sessions: sessionmaker):
        self._sessions = sessions
        self._group = GroupCommit(sessions, _insert)

    def record(
        self,
        intake_id: str,
        envelope: Envelope,
        raw: bytes,
        analysis: Analysis,
        claim: KeyClaim | None = None,
    ) -> Remembered | None:
        """None once the rows are committed; what `claim`'s key recorded already, instead."""
        return self._group.run(_rows(intake_id, envelope, raw, analysis, claim))

    def record_many(self, items: list[tuple]) -> list[Exception | Remembered | None]:
        """`record`'s arguments for several requests, committed together (the intake's commit
        thread): each request's error, None once its rows are durable, or what its key
        recorded already (nothing stored)."""
        made = [_made(item) for item in items]
        committed = iter(self._group.run_many([m for m in made if not isinstance(m, Exception)]))
        return [m if isinstance(m, Exception) else next(committed) for m in made]

    def orphans(self, grace: timedelta, limit: int = 500) -> list[tuple[str, str]]:
        """(id, queue) of intakes older than `grace` that never became a ticket."""
        cutoff = datetime.now(UTC) - grace
        with self._sessions() as session:
            rows = session.execute(
                select(IntakeRow.id, IntakeRow.queue)
                .where(IntakeRow.status == "received", IntakeRow.updated_at < cutoff)
                .order_by(IntakeRow.updated_at)
                .limit(limit)
            )
            return [(r.id, r.queue or "tickets.routine") for r in rows]

    def touch(self, intake_ids: list[str]) -> None:
        """Mark intakes as re-enqueued now, so the next sweep waits another grace period."""
        with self._sessions.begin() as session:
            session.execute(
                update(IntakeRow).where(IntakeRow.id.in_(intake_ids)).values(updated_at=utcnow())
            )
