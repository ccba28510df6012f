"""The sweeper: re-enqueue what was committed but never reached its next step, so losing Redis loses nothing."""

from __future__ import annotations

import logging
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import dramatiq
from sqlalchemy import select, update

from ingest.queueing import enqueue_intake
from workers import metrics, recovery
from workers.acks.retrying import chain_alive
from workers.pids import alive
from workers.running.runtime import Runtime
from workers.store.journal import SqlJournal, storable
from workers.store.records import ACK_CLAIMED, PAGE_CLAIMED
from workers.store.schema import AckRow, EventRow, PageRow, TicketRow
from workers.store.tickets import event

log = logging.getLogger("guichet.sweeper")
# A claim by a live process, or by one on another host that cannot be checked, is presumed
# abandoned after this: far longer than any relay session (each smtplib step times out
# after 30 s) plus `acknowledge.RECORD_PATIENCE`.
CLAIM_LEASE = timedelta(minutes=10)
WATCH_EVERY = 1.0  # seconds between two looks at the Redis server's identity
RECHECK_AFTER = 10.0  # seconds after a new Redis server life before the second recovery
_requeued: dict[int, float] = {}  # ack id → monotonic time this process last re-enqueued it


def sweep_once(rt: Runtime, broker: dramatiq.Broker) -> int:
    """Re-enqueue orphan intakes and acknowledgements left pending; returns how many."""
    grace = timedelta(seconds=rt.settings.sweep_grace)
    journal = SqlJournal(rt.sessions)
    orphans = journal.orphans(grace)
    for intake_id, queue in orphans:
        enqueue_intake(broker, intake_id, queue)
    if orphans:
        journal.touch([i for i, _ in orphans])
        log.info("re-enqueued orphan intakes", extra={"count": len(orphans)})
    _abandoned_pages(rt, grace)  # nothing to re-enqueue: told, not resent
    return len(orphans) + _abandoned_claims(rt, grace) + _pending_acks(rt, grace)


def _pending_acks(rt: Runtime, grace: timedelta) -> int:
    """Re-enqueue acknowledgements still pending after `grace`, each at most once per grace."""
    from workers.actors import send_ack

    at = datetime.now(UTC)
    with rt.sessions() as session:
        rows = session.execute(
            select(AckRow.id, AckRow.intake_id, AckRow.attempts)
            .where(AckRow.status == "pending", AckRow.created_at < at - grace)
            .order_by(AckRow.id)
            .limit(500)
        ).all()
        # An acknowledgement whose relay retry is still scheduled has its one chain already.
        rows = [r for r in rows if not chain_alive(session, r.intake_id, at, grace)]
    now, wait = time.monotonic(), grace.total_seconds()
    for stale in [i for i, at in _requeued.items() if now - at > wait]:
        del _requeued[stale]
    due = [r for r in rows if r.id not in _requeued]  # still queued from the last sweep: leave it
    for ack in due:
        send_ack.send(ack.id, ack.attempts)  # a copy of a live message is a no-op (attempt count)
        _requeued[ack.id] = now
    return len(due)


def _abandoned_claims(rt: Runtime, grace: timedelta) -> int:
    """`sending` acknowledgements whose claimant died go back to `pending`.

    The relay never took such a message: an acknowledgement is recorded sent before the end
    of its DATA goes out (`workers.acknowledge.deliver`), so one still `sending` did not reach
    it. A resend carries the same Message-ID (`ack_mail.ack_message_id`) all the same."""
    with rt.sessions.begin() as session:
        sending = session.execute(
            select(AckRow.id, AckRow.intake_id, AckRow.ticket_id).where(AckRow.status == "sending")
        ).all()
        reclaimed = 0
        for ack in sending:
            why = _why_abandoned(session, EventRow.intake_id == ack.intake_id, ACK_CLAIMED, grace)
            if why and _release_claim(session, ack.id):
                event(
                    session, "ack-reclaimed", ack.intake_id, ack.ticket_id, ack_id=ack.id, why=why
                )
                reclaimed += 1
    if reclaimed:
        log.warning("acknowledgements reclaimed from dead workers", extra={"count": reclaimed})
    return reclaimed


def _abandoned_pages(rt: Runtime, grace: timedelta) -> int:
    """`sending` pages whose claimant died before recording the outcome become `unknown`.

    Unlike an acknowledgement, a page has no step that the record comes before: the on-call
    team may have been told, so the page is not sent again (at most once). Nor is it left
    `sending` with nobody the wiser: the ticket asks the desk to make sure the team knows
    (its review note, the `page-unknown` trail line, the `unknown` page count)."""
    with rt.sessions.begin() as session:
        sending = session.execute(
            select(PageRow.id, PageRow.ticket_id).where(PageRow.status == "sending")
        ).all()
        flagged = []
        for page in sending:
            # A ticket has one page at most (pages.ticket_id is unique): its last claim line
            # on the ticket is this page's.
            why = _why_abandoned(session, EventRow.ticket_id == page.ticket_id, PAGE_CLAIMED, grace)
            if why is None:
                continue
            marked = session.execute(
                update(PageRow)
                .where(PageRow.id == page.id, PageRow.status == "sending")
                .values(status="unknown", error=why)
            )
            if marked.rowcount != 1:
                continue
            ticket = session.get(TicketRow, page.ticket_id)
            note = f"urgent: the on-call page may not have gone out ({why}); make sure the on-call team knows"
            ticket.review = storable("; ".join(filter(None, (ticket.review, note))))
            event(session, "page-unknown", None, page.ticket_id, page_id=page.id, why=why)
            metrics.page_unknown(session)
            flagged.append(ticket.number)
    if flagged:
        log.error("on-call pages whose outcome is unknown", extra={"tickets": flagged})
    return len(flagged)


def _why_abandoned(session, whose, kind: str, grace: timedelta) -> str | None:
    """Why the last `kind` claim line of `whose` counts as abandoned; None while it does not."""
    claim = session.scalar(
        select(EventRow).where(whose, EventRow.kind == kind).order_by(EventRow.id.desc()).limit(1)
    )
    return _abandoned(claim, grace)


def _abandoned(claim: EventRow | None, grace: timedelta) -> str | None:
    if claim is None:
        return "no claim recorded"
    age = datetime.now(UTC) - claim.at
    if age < grace:
        return None
    host, pid = claim.detail.get("host"), claim.detail.get("pid")
    if host == socket.gethostname() and isinstance(pid, int) and not alive(pid):
        return f"claimant pid {pid} is gone"
    return f"claimed by {host} pid {pid} {age} ago" if age > CLAIM_LEASE else None


def _release_claim(session, ack_id: int) -> bool:
    result = session.execute(
        update(AckRow)
        .where(AckRow.id == ack_id, AckRow.status == "sending")
        .values(status="pending")
    )
    return result.rowcount == 1


class Sweeper(threading.Thread):
    """Runs `sweep_once` every interval until stopped, and `recovery.recover` as soon as it
    sees a new Redis server life (or Redis again after an outage); errors are logged, never
    fatal."""

    def __init__(self, rt: Runtime, broker: dramatiq.Broker):
        super().__init__(name="guichet-sweeper", daemon=True)
        self.rt, self.broker, self.stopping = rt, broker, threading.Event()
        self.client = getattr(broker, "client", None)
        self.server: str | None = None  # run id of the Redis server last seen
        self.again: tuple[float, str] | None = None  # (when, run id): the second look

    def run(self) -> None:
        due = time.monotonic() + self.rt.settings.sweep_interval
        while not self.stopping.wait(min(WATCH_EVERY, self.rt.settings.sweep_interval)):
            self._watch_redis()
            if time.monotonic() >= due:
                due = time.monotonic() + self.rt.settings.sweep_interval
                try:
                    sweep_once(self.rt, self.broker)
                except Exception as exc:
                    log.warning("sweep failed: %s", exc)

    def _watch_redis(self) -> None:
        if self.client is None:
            return
        try:
            server = recovery.server_id(self.client)
            if server != self.server:
                if self.server is not None:  # not at start: the first sweep covers that
                    log.warning("Redis is back", extra={"run_id": server})
                    recovery.recover(self.rt, self.broker, self.client, server)
                    # Once more when the edges' and workers' calls begun during the outage
                    # have all ended (their socket timeouts are 5 s).
                    self.again = (time.monotonic() + RECHECK_AFTER, server)
                self.server = server
            if self.again and time.monotonic() >= self.again[0]:
                recovery.recover(self.rt, self.broker, self.client, f"{self.again[1]}:again")
                self.again = None
        except Exception as exc:  # unreachable now: recover when it answers again
            if self.server != "":
                log.warning("Redis unreachable: %s", exc)
            self.server = "" if self.server is not None else None

    def stop(self) -> None:
        self.stopping.set()
