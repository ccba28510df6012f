"""Idempotency records of the webhook edge: claim a key, remember the answer, forget a failed claim."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from ingest.idempotency_keys import KeyClaim, Remembered
from workers.store.row_writes import unless_taken
from workers.store.schema import utcnow
from workers.store.schema_webhooks import IdempotencyRow

KEYS = IdempotencyRow.__table__


def _key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# Built once (their compiled form is reused): a claim, and the answer a retry replays.
_INSERT_CLAIM = insert(KEYS)
_ANSWER = (
    update(KEYS)
    .where(KEYS.c.partner == bindparam("w_partner"), KEYS.c.key_sha256 == bindparam("w_key"))
    .values(
        status=bindparam("w_status"), response=bindparam("w_response"), updated_at=bindparam("w_at")
    )
)


_ANSWERED_CLAIMS = unless_taken(KEYS, KEYS.c.key_sha256)  # a key with its answer, if free
_RECORDED = select(KEYS.c.body_sha256, KEYS.c.status, KEYS.c.response).where(
    KEYS.c.partner == bindparam("w_partner"), KEYS.c.key_sha256 == bindparam("w_key")
)


def claim_keys(connection: Connection, claims: list[KeyClaim | None]) -> list[Remembered | None]:
    """In the caller's transaction (the intake's own): record each key with its answer. Per
    claim, None when it is recorded now (its intake is to be stored), or what an earlier
    request recorded under the key (its intake is not). A None claim is None."""
    statement = _ANSWERED_CLAIMS[connection.dialect.name]
    now = utcnow()
    found: list[Remembered | None] = []
    for claim in claims:
        if claim is None:
            found.append(None)
            continue
        key = _key(claim.key)
        inserted = connection.execute(
            statement,
            {
                "partner": claim.partner,
                "key_sha256": key,
                "body_sha256": claim.body_sha256,
                "status": claim.status,
                "response": claim.body,
                "created_at": now,
                "updated_at": now,
            },
        ).first()
        if inserted is not None:
            found.append(None)
            continue
        row = connection.execute(_RECORDED, {"w_partner": claim.partner, "w_key": key}).one()
        found.append(Remembered(row.body_sha256, row.status, bytes(row.response or b"")))
    return found


class SqlIdempotency:
    """`ingest.edges.webhook.ports.Idempotency`: the primary key makes the first claim win, on SQLite and PostgreSQL."""

    def __init__(self, sessions: sessionmaker, in_progress_grace: timedelta):
        self.sessions, self.grace = sessions, in_progress_grace

    def begin(self, partner: str, key: str, body_sha256: str) -> Remembered | None:
        try:
            self._claim([(partner, key, body_sha256)])
            return None
        except IntegrityError:
            return self._existing(partner, key, body_sha256)

    def begin_many(self, claims: list[tuple[str, str, str]]) -> list[Remembered | None]:
        """`begin` for several (partner, key, body_sha256) at once: one transaction when no key
        is taken yet (the usual case), else each claim on its own, as `begin`."""
        try:
            self._claim(claims)
            return [None] * len(claims)
        except IntegrityError:
            return [self.begin(*claim) for claim in claims]

    def _claim(self, claims: list[tuple[str, str, str]]) -> None:
        """Insert every claim in one transaction (Core: an ORM flush cost more than the insert);
        IntegrityError when a key is taken already."""
        with self.sessions.begin() as session:
            session.connection().execute(
                _INSERT_CLAIM,
                [
                    {"partner": partner, "key_sha256": _key(key), "body_sha256": digest}
                    for partner, key, digest in claims
                ],
            )

    def _existing(self, partner: str, key: str, body_sha256: str) -> Remembered | None:
        with self.sessions.begin() as session:
            row = session.get(IdempotencyRow, (partner, _key(key)), with_for_update=True)
            if row is None:  # released meanwhile: claim it now
                session.add(
                    IdempotencyRow(partner=partner, key_sha256=_key(key), body_sha256=body_sha256)
                )
                return None
            if row.status is None and _age(row) > self.grace and row.body_sha256 == body_sha256:
                row.updated_at = utcnow()  # its process died mid-request: this retry takes over
                return None
            return Remembered(row.body_sha256, row.status, bytes(row.response or b""))

    def finish(self, partner: str, key: str, status: int, body: bytes) -> None:
        self.finish_many([(partner, key, status, body)])

    def finish_many(self, answers: list[tuple[str, str, int, bytes]]) -> list[None]:
        """`finish` for several (partner, key, status, body) in one transaction."""
        now = utcnow()
        with self.sessions.begin() as session:
            session.connection().execute(
                _ANSWER,
                [
                    {
                        "w_partner": p,
                        "w_key": _key(k),
                        "w_status": status,
                        "w_response": body,
                        "w_at": now,
                    }
                    for p, k, status, body in answers
                ],
            )
        return [None] * len(answers)

    def release(self, partner: str, key: str) -> None:
        with self.sessions.begin() as session:
            session.execute(
                delete(IdempotencyRow).where(
                    IdempotencyRow.partner == partner, IdempotencyRow.key_sha256 == _key(key)
                )
            )

    def purge(self, older_than: timedelta) -> int:
        """Forget answers older than the longest time a partner may retry."""
        with self.sessions.begin() as session:
            result = session.execute(
                delete(IdempotencyRow).where(IdempotencyRow.created_at < utcnow() - older_than)
            )
            return result.rowcount


def _age(row: IdempotencyRow) -> timedelta:
    return utcnow() - row.updated_at
