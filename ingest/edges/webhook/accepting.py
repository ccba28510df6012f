"""Hand one partner request to the shared intake funnel, exactly as the SMTP edge hands a mail."""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.analysis import Envelope
from ingest.edges.webhook.mapping import to_content
from ingest.edges.webhook.models import RequestIn
from ingest.edges.webhook.ports import Partner, Services
from ingest.edges.webhook.problems import Problem
from ingest.intake import Accepted, Deferred

PARTNER_DOMAIN = "partners.guichet.invalid"  # requester of a request without a contact address


def status_url(partner: str, intake_id: str) -> str:
    return f"/v1/partners/{partner}/requests/{intake_id}"


def partner_address(partner: str) -> str:
    """Who asked, when no contact address was given: repeats from one partner can then thread."""
    return f"{partner}@{PARTNER_DOMAIN}"


async def accept_request(
    services: Services,
    partner: Partner,
    request: RequestIn,
    raw: bytes,
    client_ip: str,
    retry_after: int,
) -> str:
    """Intake id of a durable request; `raw` is exactly what the worker will rebuild it from."""
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

    return _durable(await services.intake.accept(raw, envelope, analyse), retry_after)


async def accept_mail(services: Services, raw: bytes, envelope: Envelope, retry_after: int) -> str:
    """A raw message a provider forwarded: the same call the SMTP edge makes after DATA."""
    outcome = await services.intake.accept(
        raw, envelope, lambda: services.analyse_mail(raw, envelope)
    )
    return _durable(outcome, retry_after)


def _durable(outcome: Accepted | Deferred, retry_after: int) -> str:
    if isinstance(outcome, Accepted):
        return outcome.intake_id
    what = "stored" if outcome.stage == "journal" else "queued"
    raise Problem(
        "not-durable", f"the request could not be {what}; retry later", retry_after=retry_after
    )
