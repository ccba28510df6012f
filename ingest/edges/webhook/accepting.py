"""Hand one partner request to the shared intake funnel, exactly as the SMTP edge hands a mail."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.responses import Response

from ingest.analysis import Envelope
from ingest.edges.webhook.idempotent import repeat
from ingest.edges.webhook.mapping import to_content
from ingest.edges.webhook.models import Accepted as AcceptedBody
from ingest.edges.webhook.models import RequestIn
from ingest.edges.webhook.ports import Partner, Services
from ingest.edges.webhook.problems import Problem
from ingest.idempotency_keys import OnceKey
from ingest.intake import Accepted, Deferred, Replayed

PARTNER_DOMAIN = "partners.guichet.invalid"  # requester of a request without a contact address

Outcome = Accepted | Deferred | Replayed


def status_url(partner: str, intake_id: str) -> str:
    return f"/v1/partners/{partner}/requests/{intake_id}"


def partner_address(partner: str) -> str:
    """Who asked, when no contact address was given: repeats from one partner can then thread."""
    return f"{partner}@{PARTNER_DOMAIN}"


def accepted_answer(partner: str, intake_id: str) -> tuple[int, bytes]:
    """The 202 a durable request gets (and a retry of it, replayed from its key's record)."""
    body = AcceptedBody(intake_id=intake_id, status_url=status_url(partner, intake_id))
    return 202, body.model_dump_json().encode()


async def accept_request(
    services: Services,
    partner: Partner,
    request: RequestIn,
    raw: bytes,
    client_ip: str,
    once: OnceKey | None = None,
) -> Outcome:
    """The funnel's outcome for one request; `raw` is exactly what the worker will rebuild it
    from, `once` its idempotency key (committed with it)."""
    content = to_content(request)
    envelope = Envelope(
        "webhook",
        content.from_address or partner_address(partner.name),
        [],
        datetime.now(UTC),
        client_ip,
        partner.name,
    )

    def analyse():
        return services.analyse_content(content, envelope, raw, content.message_id)

    return await services.intake.accept(raw, envelope, analyse, once)


async def accept_mail(
    services: Services, raw: bytes, envelope: Envelope, once: OnceKey | None = None
) -> Outcome:
    """A raw message a provider forwarded: the same call the SMTP edge makes after DATA."""
    return await services.intake.accept(
        raw, envelope, lambda: services.analyse_mail(raw, envelope), once
    )


def intake_id_of(outcome: Outcome, retry_after: int) -> str:
    """The intake id of a durable request; a problem (503, retry later) for one that is not."""
    if isinstance(outcome, Accepted):
        return outcome.intake_id
    if isinstance(outcome, Replayed):  # only a request sent with a key is replayed
        raise TypeError("a replayed request has no intake of its own")
    what = "stored" if outcome.stage == "journal" else "queued"
    raise Problem(
        "not-durable", f"the request could not be {what}; retry later", retry_after=retry_after
    )


def answer_to(outcome: Outcome, partner: str, once: OnceKey | None, retry_after: int) -> Response:
    """What the partner is told of one request: 202 with its intake, or the first answer its
    key recorded, or why it must retry."""
    if isinstance(outcome, Replayed):  # only a request sent with a key is replayed
        return repeat(outcome.remembered, once.body_sha256)
    status, body = accepted_answer(partner, intake_id_of(outcome, retry_after))
    return Response(body, status, media_type="application/json")
