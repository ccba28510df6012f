"""page_oncall's work: tell the on-call team about an urgent ticket, once, when it is due."""

from __future__ import annotations

import functools
import json
import logging
import urllib.request
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from ingest.rules.sender_trust import TRUSTED
from workers import metrics
from workers.pids import claimant
from workers.running.runtime import Runtime
from workers.store.records import DUE_SLACK, PAGE_CLAIMED, ClaimedPage
from workers.store.schema import PageRow, TicketRow, utcnow
from workers.store.tickets import event

log = logging.getLogger("guichet.page")
PAGES, TICKETS = PageRow.__table__, TicketRow.__table__


def seconds_until_due(rt: Runtime, page_id: int) -> float:
    with rt.sessions() as session:
        return _wait(session.get(PageRow, page_id).due_at, datetime.now(UTC))


def _wait(due_at: datetime, now: datetime) -> float:
    return max(0.0, (due_at - now).total_seconds())


def send_if_due(rt: Runtime, page_id: int) -> str | float:
    """Send the page if it is due (within a second): "sent", "already handled", or the
    seconds still to wait. The page is claimed at most once (scheduled → sending), the claim
    committed before anything is sent, and its outcome recorded after; both go through the
    process's group commit (`Runtime.writes`), which shares a commit between the writes this
    process's threads hand in at the same moment."""
    claimed = rt.writes.run(functools.partial(_claim, page_id=page_id))
    if not isinstance(claimed, tuple):
        return claimed
    ticket_id, payload = claimed
    return _send(rt, page_id, ticket_id, payload)


def send_claimed(rt: Runtime, page: ClaimedPage) -> str:
    """Send a page its filing claimed (`records.record_page`: committed with the ticket, so
    nobody else sends it) and record the outcome: "sent"; raises as `send_if_due` does."""
    payload = _payload(
        page.number, page.client_number, page.subject, page.urgency, page.sender_trust
    )
    return _send(rt, page.page_id, page.ticket_id, payload)


def _send(rt: Runtime, page_id: int, ticket_id: int, payload: dict) -> str:
    """Deliver a claimed page and record it sent; a delivery that fails puts it back to
    `scheduled` (with why) for the next attempt, and raises."""
    try:
        summary = _deliver(rt, payload)
    except Exception as exc:
        with rt.sessions.begin() as session:
            session.execute(
                update(PAGES)
                .where(PAGES.c.id == page_id)
                .values(status="scheduled", error=str(exc)[:2000])
            )
        raise
    rt.writes.run(
        functools.partial(_record_paged, page_id=page_id, ticket_id=ticket_id, targets=summary)
    )
    return "sent"


def _payload(number, client_number, subject, urgency, trust) -> dict:
    """What a page says: the ticket, and of its sender what `sender_notice` tells."""
    return {
        "ticket": number,
        "client_number": client_number,
        "subject": subject,
        "urgency": urgency,
        **sender_notice(trust),
    }


_CLAIM = (
    update(PAGES)
    .where(
        PAGES.c.id == bindparam("page_id"),
        PAGES.c.status == "scheduled",
        PAGES.c.due_at <= bindparam("due_by"),
    )
    .values(status="sending")
    .returning(PAGES.c.ticket_id, PAGES.c.sender_trust)
)
_TICKET = select(
    TICKETS.c.number, TICKETS.c.client_number, TICKETS.c.subject, TICKETS.c.urgency
).where(TICKETS.c.id == bindparam("ticket_id"))
_SENT = (
    update(PAGES)
    .where(PAGES.c.id == bindparam("page_id"))
    .values(status="sent", sent_at=bindparam("sent_at_now"))
)


def _claim(session: Session, page_id: int) -> tuple[int, dict] | str | float:
    """(its ticket's id, what the page says) when this claim took the page; else why not."""
    now = datetime.now(UTC)
    connection = session.connection()
    claimed = connection.execute(
        _CLAIM, {"page_id": page_id, "due_by": now + timedelta(seconds=DUE_SLACK)}
    ).first()
    if claimed is None:
        return _unclaimed(session, page_id, now)
    # Who claimed it: the sweeper tells the desk of a page whose claimant died before its
    # outcome was recorded (`workers.sweeper._abandoned_pages`).
    event(session, PAGE_CLAIMED, None, claimed.ticket_id, page_id=page_id, **claimant())
    ticket = connection.execute(_TICKET, {"ticket_id": claimed.ticket_id}).one()
    return claimed.ticket_id, _payload(
        ticket.number, ticket.client_number, ticket.subject, ticket.urgency, claimed.sender_trust
    )


def _record_paged(session: Session, page_id: int, ticket_id: int, targets: list[str]) -> None:
    session.connection().execute(_SENT, {"page_id": page_id, "sent_at_now": utcnow()})
    metrics.page_sent(session)
    event(session, "paged", None, ticket_id, targets=targets)


def _unclaimed(session: Session, page_id: int, now: datetime) -> str | float:
    page = session.execute(
        select(PAGES.c.status, PAGES.c.due_at).where(PAGES.c.id == page_id)
    ).first()
    if page is None or page.status != "scheduled":
        return "already handled"
    return _wait(page.due_at, now)


def _deliver(rt: Runtime, payload: dict) -> list[str]:
    targets = []
    if rt.settings.oncall_email:
        rt.outbound.send(_page_mail(rt, payload), rt.settings.oncall_email)
        targets.append(f"mail:{rt.settings.oncall_email}")
    if rt.settings.oncall_webhook:
        _post(rt.settings.oncall_webhook, payload)
        targets.append("webhook")
    if not targets:
        log.warning(
            "on-call page recorded but no target configured", extra={"ticket": payload["ticket"]}
        )
        targets.append("log")
    return targets


def sender_notice(trust: str | None) -> dict:
    """What a page says of its sender: nothing more when trusted (or older than sender trust)."""
    if trust is None or trust in TRUSTED:
        return {"sender_trust": trust} if trust else {}
    return {
        "sender_trust": trust,
        "sender_flag": " (sender not verified)",
        "sender_notice": "The sender's address is not declared on the account and its mail is not "
        "authenticated: check with the customer before acting.",
    }


def _page_mail(rt: Runtime, payload: dict) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"] = rt.settings.ack_from, rt.settings.oncall_email
    message["Subject"] = (
        f"[{rt.settings.ticket_tag} #{payload['ticket']}] URGENT{payload.get('sender_flag', '')} "
        f"{payload['subject']}"[:250]
        .replace("\r", " ")
        .replace("\n", " ")
    )
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(json.dumps(payload, ensure_ascii=False, indent=2))
    return message


def _post(url: str, payload: dict) -> None:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - configured URL
        response.read()
