"""The actors: thin wrappers that send ids, not objects, and leave the work to their modules."""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.brokers.stub import StubBroker

from ingest import log_context
from ingest.queueing import CREATE_TICKET, CREATE_URGENT_TICKET, ROUTINE_QUEUE, URGENT_QUEUE
from workers import acknowledge, filing, paging
from workers.acks.retrying import Retry
from workers.broker import ACKS_QUEUE, PAGES_QUEUE
from workers.running.runtime import runtime

if dramatiq.broker.global_broker is None:
    # Declared against a placeholder; `workers.broker.install` binds them to the real broker.
    dramatiq.set_broker(StubBroker())

log = logging.getLogger("guichet.worker")
RETRY = {"max_retries": 12, "min_backoff": 1_000, "max_backoff": 600_000}
MAX_DELAY_MS = 6 * 24 * 3600 * 1000  # Redis broker limit is 7 days; re-check on wake-up


@dramatiq.actor(
    actor_name=CREATE_TICKET, queue_name=ROUTINE_QUEUE, throws=(filing.IntakeMissing,), **RETRY
)
def create_ticket(intake_id: str) -> None:
    """Create or thread the ticket of one stored intake; idempotent on the intake id.

    Its new acknowledgement, claimed in the filing's commit, is delivered here at once (no
    `send_ack` message); one left pending (a redelivery) or given back (a build that failed)
    goes to `send_ack` as before."""
    outcome = filing.file(runtime(), intake_id)
    log_context.bind(ticket=outcome.number)  # the lines that follow name the ticket too
    failure = None
    for ready in outcome.ready:
        try:
            _after_delivery(
                acknowledge.deliver(runtime(), ready.ack_id, ready.message, ready.recipient)
            )
        except Exception as exc:  # the others still go; the claim is the sweeper's to recover
            failure = failure or exc
    for ack_id in outcome.ack_ids:
        send_ack.send(ack_id, 0)
    for page in outcome.pages_claimed:
        _page_now_or_later(page.page_id, page)
    for page_id in outcome.page_ids:
        _page_now_or_later(page_id)
    if failure is not None:
        raise failure


@dramatiq.actor(
    actor_name=CREATE_URGENT_TICKET,
    queue_name=URGENT_QUEUE,
    priority=-10,  # lower is first: ahead of the routine messages a worker has prefetched
    throws=(filing.IntakeMissing,),
    **RETRY,
)
def create_urgent_ticket(intake_id: str) -> None:
    """`create_ticket` for an urgent intake: the same work, taken first."""
    create_ticket.fn(intake_id)


@dramatiq.actor(actor_name="send_ack", queue_name=ACKS_QUEUE, **RETRY)
def send_ack(ack_id: int, attempt: int | None = None) -> None:
    """Render and send one acknowledgement; never twice. A relay that does not take it now
    gets one next attempt, scheduled here (`workers.acks.retrying`): Dramatiq's own retries
    are only for failures before the relay was tried (database, rendering)."""
    _after_delivery(acknowledge.send(runtime(), ack_id, attempt))


def _after_delivery(outcome) -> None:
    """A relay that did not take the acknowledgement now: its one next attempt, scheduled."""
    if isinstance(outcome, Retry):
        delay = min(int(outcome.after * 1000), MAX_DELAY_MS)
        send_ack.send_with_options(args=(outcome.ack_id, outcome.attempt), delay=delay)


@dramatiq.actor(actor_name="page_oncall", queue_name=PAGES_QUEUE, **RETRY)
def page_oncall(page_id: int) -> None:
    """Page the on-call team for an urgent ticket once it is due."""
    wait = paging.send_if_due(runtime(), page_id)
    if not isinstance(wait, str):  # woken early (redelivery, long delay split): wait again
        schedule_page(page_id, wait)


def _page_now_or_later(page_id: int, claimed: paging.ClaimedPage | None = None) -> None:
    """A page due now is sent here, in the filing's pass (no `page_oncall` message): the one
    the filing `claimed` with its ticket, else claimed now if due; one that fails, or is due
    later, goes to `page_oncall` with its retries. A worker that dies first leaves a claim the
    sweeper reports to the desk (never sent twice), or a page still scheduled, which the
    redelivered `create_ticket` finds (`pending_work`)."""
    rt = runtime()
    try:
        wait = paging.send_claimed(rt, claimed) if claimed else paging.send_if_due(rt, page_id)
    except Exception as exc:
        log.warning("page not sent, handed to page_oncall: %s", exc, extra={"page_id": page_id})
        schedule_page(page_id)
        return
    if not isinstance(wait, str):
        schedule_page(page_id, wait)


def schedule_page(page_id: int, wait: float | None = None) -> None:
    """A `page_oncall` message for when the page is due (`wait` seconds, read if not given)."""
    if wait is None:
        wait = paging.seconds_until_due(runtime(), page_id)
    delay_ms = int(wait * 1000)
    page_oncall.send_with_options(args=(page_id,), delay=min(delay_ms, MAX_DELAY_MS) or None)


ALL = (create_ticket, create_urgent_ticket, send_ack, page_oncall)
