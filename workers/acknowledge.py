"""send_ack's work: render and send one recorded acknowledgement, at most once."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message

from sqlalchemy import update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from tenacity import Retrying, retry_if_exception_type, stop_after_delay, wait_exponential

from workers import metrics
from workers.acks import retrying
from workers.acks.answered import Answered, answered
from workers.acks.context import build_context
from workers.acks.live import render_ack
from workers.acks.mail import ack_message_id, compose
from workers.acks.outbound import RelayRefused
from workers.acks.render import RenderedAck
from workers.escalation.contract import guidance_for_decision
from workers.pids import claimant
from workers.running.runtime import Runtime
from workers.store.records import ACKS, claim_line, record_sent
from workers.store.schema import AckRow, IntakeRow, TicketRow
from workers.store.threading import tag_for
from workers.trust_gate import MINIMAL, NONE, ack_choice

log = logging.getLogger("guichet.ack")


RECORD_PATIENCE = 60  # seconds spent retrying to record a send's outcome in the database


def claim(rt: Runtime, ack_id: int, attempt: int | None = None) -> bool:
    """pending → sending, atomically: only one worker ever sends a given acknowledgement.

    The claim is recorded with its claimant, so that an acknowledgement whose worker died
    while sending is not stuck in `sending` forever (see `workers.sweeper`). With `attempt`,
    only while the acknowledgement's attempt count still matches (`workers.acks.retrying`)."""
    with rt.sessions.begin() as session:
        return _claim_in(session, ack_id, attempt)


def send(rt: Runtime, ack_id: int, attempt: int | None = None) -> str | retrying.Retry:
    """ "sent", "already handled", "refused" (5xx: never retried), "expired", or a `Retry`."""
    # Build (database reads, rendering) before claiming: a failure there leaves the
    # acknowledgement pending, with no claim to undo while the database may be away.
    built = build(rt, ack_id)
    if built is None or not claim(rt, ack_id, attempt):
        return "already handled"
    message, recipient = built
    return deliver(rt, ack_id, message, recipient)


# -- the acknowledgement of a filing, claimed in the filing's own transaction ---------------
#
# The usual path of a new acknowledgement (issue 14): the transaction that files the ticket
# records the acknowledgement already claimed by the filing process (`records.record_ack` with
# its `claimant()`: `sending`, with its `ack-claimed` event), so it is claimed in the same
# commit; it is built right after that commit, from the rows the filing's session still holds
# (`build_claimed`), and `create_ticket` delivers it with no `send_ack` message. The build
# (rendering, composing) used to run inside the commit, where it held SQLite's write turn for
# two thirds of a filing (19.6 of 27.5 ms) and filings queued behind it.
# At most once still holds: the claim is committed before the relay is tried, and a worker
# that dies after the commit leaves a `sending` acknowledgement whose claimant is gone, which
# the sweeper returns to pending (`workers.sweeper._abandoned_claims`) and sends once. One that
# cannot be built is given back (sending → pending, its attempt uncounted) and goes the old
# way (`send_ack`), where its build is retried.


@dataclass(frozen=True)
class Ready:
    """An acknowledgement claimed by this process, built, to be delivered now."""

    ack_id: int
    message: Message
    recipient: str


def build_claimed(
    rt: Runtime, session: Session, ack_ids: list[int]
) -> tuple[list[Ready], list[int]]:
    """Build acknowledgements this process claimed, after the claim's commit: (ready, given
    back). One that cannot be built is pending again, for `send_ack`."""
    ready, given_back = [], []
    for ack_id in ack_ids:
        try:
            built = _build_in(rt, session, ack_id, status=None)  # claimed just now, by us
        except Exception as exc:
            session.rollback()
            log.warning("acknowledgement not built: %s", exc, extra={"ack_id": ack_id})
            _stubborn(_recorded, rt, _give_back, ack_id)
            given_back.append(ack_id)
            continue
        if built is not None:
            ready.append(Ready(ack_id, *built))
    return ready, given_back


def _give_back(session: Session, ack_id: int) -> None:
    session.execute(
        update(ACKS)
        .where(ACKS.c.id == ack_id, ACKS.c.status == "sending")
        .values(status="pending", attempts=ACKS.c.attempts - 1)
    )


def _claim_in(session: Session, ack_id: int, attempt: int | None) -> bool:
    """One UPDATE … RETURNING and its trail line, in Core (an ORM bulk update synchronising the
    session cost 4.5 ms a claim). The session's own AckRow, if loaded, is not refreshed: the
    builders after the claim do not look at its status."""
    current = [ACKS.c.attempts == attempt] if attempt is not None else []
    ack = session.execute(
        update(ACKS)
        .where(ACKS.c.id == ack_id, ACKS.c.status == "pending", *current)
        .values(status="sending", attempts=ACKS.c.attempts + 1)
        .returning(ACKS.c.intake_id, ACKS.c.ticket_id)
    ).first()
    if ack is None:
        return False
    claim_line(session, ack.intake_id, ack.ticket_id, ack_id, claimant())
    return True


def deliver(rt: Runtime, ack_id: int, message: Message, recipient: str):
    """Hand a claimed acknowledgement to the relay (or outbox) and record the outcome.

    It is recorded sent just before the last step of the hand-over (the end of DATA, or the
    rename into the outbox's new/): a worker killed after the relay took the message has
    always recorded it, so the sweeper, which returns the claims of dead workers to pending,
    never sends it twice. Killed between that record and the single write that follows, the
    acknowledgement is recorded and not sent: at most once. A relay that answers the end of
    DATA with anything but 250 overwrites the record (refused, or deferred)."""
    message_id, subject = message["Message-ID"].strip("<>"), str(message["Subject"])
    intake: list[str] = []  # whose acknowledgement, once recorded

    def record() -> None:
        intake.append(_finish(rt, ack_id, message_id, subject))

    try:
        rt.outbound.send(message, recipient, record)
    except RelayRefused as refusal:
        return _stubborn(_recorded, rt, retrying.refuse, ack_id, refusal)
    except Exception as exc:
        schedule = retrying.Schedule.of(rt.settings)
        error = f"{type(exc).__name__}: {exc}"
        return _stubborn(_recorded, rt, retrying.defer, ack_id, error, schedule)
    metrics.ack_sent(intake[0])
    log.info("acknowledgement sent", extra={"ack_id": ack_id})
    return "sent"


def _recorded(rt: Runtime, step, *args):
    with rt.sessions.begin() as session:
        return step(session, *args)


def _stubborn(step, *args):
    """Record the outcome of a send even through a short database outage: a claim left
    behind would hold the acknowledgement until the sweeper's lease runs out."""
    for attempt in Retrying(
        stop=stop_after_delay(RECORD_PATIENCE),
        wait=wait_exponential(multiplier=0.2, max=5),
        retry=retry_if_exception_type(SQLAlchemyError),
        reraise=True,
    ):
        with attempt:
            return step(*args)


def render_for(rt: Runtime, ticket: TicketRow, intake: IntakeRow, about: Answered) -> RenderedAck:
    decision = about.decision
    received = intake.received_at  # aware: UTCDateTime
    guidance = guidance_for_decision(decision, rt.directory, received)
    context = build_context(
        ticket_number=ticket.number,
        tag=tag_for(rt.settings.ticket_tag, ticket.number),
        subject=about.subject,
        decision=decision,
        guidance=guidance,
        received_at=received,
        ack_kind=about.kind,
        channel=about.channel,
        reference=about.reference,
        variant=_variant(decision, about.kind),
        excerpt_chars=rt.settings.ack_minimal_subject_chars,
    )
    return render_ack(context, decision.language)


def _variant(decision, kind: str) -> str:
    """The variant to render; "none" is skipped at filing, so only a row older than sender
    trust can reach here with it: it gets the cautious one."""
    variant = ack_choice(decision, kind).variant
    return MINIMAL if variant == NONE else variant


def build(rt: Runtime, ack_id: int):
    """(message, recipient) of a pending acknowledgement; None when it is no longer pending."""
    with rt.sessions() as session:
        return _build_in(rt, session, ack_id)


def _build_in(rt: Runtime, session: Session, ack_id: int, status: str | None = "pending"):
    """`build` in a session given, of an acknowledgement in `status` (None: whatever its
    status, for one this process has just claimed)."""
    ack = session.get(AckRow, ack_id)
    if ack is None or (status is not None and ack.status != status):
        return None
    ticket, intake = (
        session.get(TicketRow, ack.ticket_id),
        session.get(IntakeRow, ack.intake_id),
    )
    about = answered(session, ack, ticket, intake)
    rendered = render_for(rt, ticket, intake, about)
    message = compose(
        rendered,
        sender=rt.settings.ack_from,
        recipient=ack.recipient,
        message_id=ack_message_id(ack.id, ticket.number, rt.mail_domain),
        in_reply_to=about.in_reply_to,
        references=[],
        language=ticket.language,
        sent_at=datetime.now(UTC),
    )
    return message, ack.recipient


def _finish(rt: Runtime, ack_id: int, message_id: str, subject: str) -> str:
    """Record the acknowledgement sent (with those other threads of this process record at the
    same moment: one transaction, one turn at the write lock); whose intake it answers.

    One try: while the relay waits for the end of DATA, a database that does not answer
    makes the acknowledgement deferred (`deliver`), not a relay session held open."""
    return rt.writes.run(
        functools.partial(record_sent, ack_id=ack_id, message_id=message_id, subject=subject)
    )
