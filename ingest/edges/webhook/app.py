"""The ASGI app: thin routes that read, authenticate and translate, then call the shared intake funnel."""

from __future__ import annotations

import asyncio
import functools
import logging

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from ingest import metrics
from ingest.edges.webhook import alertmanager, openapi, raw_mime
from ingest.edges.webhook.accepting import (
    accept_mail,
    accept_request,
    accepted_answer,
    answer_to,
    intake_id_of,
    status_url,
)
from ingest.edges.webhook.gate import Gate, client_ip
from ingest.edges.webhook.idempotent import once, once_key
from ingest.edges.webhook.limits import TooLarge, WebhookSettings, read_capped
from ingest.edges.webhook.models import Accepted, AlertsAccepted, Health, RequestIn, RequestStatus
from ingest.edges.webhook.ports import Services
from ingest.edges.webhook.problems import Problem, schema_problem
from ingest.edges.webhook.signatures import request_line

log = logging.getLogger("guichet.web")
HTTP_PROBLEMS = {404: "not-found", 405: "method-not-allowed"}


def guarded(handler):
    """Every answer is a success or a problem+json; an unexpected error never shows its text."""

    @functools.wraps(handler)
    async def endpoint(self, request: Request) -> Response:
        try:
            return await handler(self, request)
        except Problem as problem:
            metrics.webhook_problem(request.method, problem.kind, problem.status)
            return problem.response()
        except Exception:
            log.exception("unexpected failure in %s %s", request.method, request.url.path)
            return Problem(
                "internal-error", "the request failed on our side; retry later"
            ).response()

    return endpoint


def parse(model: type[BaseModel], body: bytes, settings: WebhookSettings):
    try:
        return model.model_validate_json(body, context={"caps": settings})
    except ValidationError as error:
        raise schema_problem(
            error.errors(include_url=False, include_input=False, include_context=False)
        ) from None


def answer(model: BaseModel, status: int = 200) -> Response:
    return Response(model.model_dump_json(), status, media_type="application/json")


class Routes:
    def __init__(self, services: Services, settings: WebhookSettings):
        self.services, self.settings = services, settings
        self.gate = Gate(services.partners, settings)

    async def body(self, request: Request, cap: int) -> bytes:
        try:
            return await read_capped(request, cap)
        except TooLarge as error:
            raise Problem("payload-too-large", str(error)) from None

    async def partner_name(self, request: Request, body: bytes) -> str:
        """From the path, or (`/v1/requests`) from the header or the signature itself."""
        return request.path_params.get("partner") or await self.gate.identify(request, body)

    async def before_body(self, request: Request, *, signed_only: bool = False) -> None:
        """What is refused before a byte of the body is read: an address that failed too
        often, an unknown partner named in the path, missing or stale signature headers."""
        self.gate.screen(request)
        name = request.path_params.get("partner")
        await self.gate.known(request, name, signed_only=signed_only)

    @guarded
    async def post_request(self, request: Request) -> Response:
        await self.before_body(request, signed_only=True)
        body = await self.body(request, self.settings.max_body)
        name = await self.partner_name(request, body)
        partner, key = await self.gate.signed(request, name, body)
        model = parse(RequestIn, body, self.settings)
        self.gate.allow(partner, [model.client_number])

        # The key is committed with the intake (a retry stores nothing and gets this answer).
        key_once = once_key(partner.name, key, body, accepted_answer)
        outcome = await accept_request(
            self.services, partner, model, body, client_ip(request), key_once
        )
        return answer_to(outcome, partner.name, key_once, self.settings.retry_after)

    @guarded
    async def post_alerts(self, request: Request) -> Response:
        await self.before_body(request)
        name, body = (
            request.path_params["partner"],
            await self.body(request, self.settings.max_body),
        )
        partner, key = await self.gate.signed_or_bearer(request, name, body)
        payload = parse(alertmanager.AlertmanagerPayload, body, self.settings)
        try:
            requests = alertmanager.requests_for(payload, self.settings)
        except ValidationError as error:
            raise schema_problem(
                error.errors(include_url=False, include_input=False, include_context=False)
            ) from None
        self.gate.allow(partner, [r.client_number for r in requests])

        async def produce() -> Response:
            accepted = []
            for item in requests:  # one by one: each is durable before the next starts
                raw = item.model_dump_json(exclude_none=True).encode()
                outcome = await accept_request(
                    self.services, partner, item, raw, client_ip(request)
                )
                intake_id = intake_id_of(outcome, self.settings.retry_after)
                accepted.append(
                    Accepted(intake_id=intake_id, status_url=status_url(partner.name, intake_id))
                )
            return answer(AlertsAccepted(intakes=accepted), 202)

        return await once(self.services.idempotency, partner.name, key, body, produce)

    @guarded
    async def post_mime(self, request: Request) -> Response:
        await self.before_body(request)
        partner = await self.gate.partner(request.path_params["partner"])
        fields, message, token = await raw_mime.read_signed_form(
            request, self.settings, lambda fields: self.gate.form_signed(request, partner, fields)
        )
        envelope = raw_mime.mail_envelope(
            fields, self.services.addresses.accepts, partner.name, client_ip(request)
        )

        # The message, not the form: a provider's retry re-encodes the form with a new boundary.
        key_once = once_key(partner.name, token, message, accepted_answer)
        outcome = await accept_mail(self.services, message, envelope, key_once)
        return answer_to(outcome, partner.name, key_once, self.settings.retry_after)

    @guarded
    async def get_status(self, request: Request) -> Response:
        # A signature covers "GET <path>": it is good for this one status, not for any other.
        await self.before_body(request)
        signed = request_line(request.method, request.url.path)
        name, intake_id = await self.partner_name(request, signed), request.path_params["intake_id"]
        partner, _ = await self.gate.signed_or_bearer(request, name, signed)
        found = await asyncio.to_thread(self.services.statuses.status, partner.name, intake_id)
        if found is None:
            raise Problem("not-found", "no request with this id from this partner")
        return answer(RequestStatus(**found))

    async def healthz(self, request: Request) -> Response:
        return answer(Health(status="ok"))

    @guarded
    async def readyz(self, request: Request) -> Response:
        checks = {name: await self._probe(probe) for name, probe in self.services.probes.items()}
        ready = all(v == "ok" for v in checks.values())
        return answer(
            Health(status="ok" if ready else "unavailable", checks=checks), 200 if ready else 503
        )

    async def _probe(self, probe) -> str:
        try:
            await asyncio.wait_for(probe(), self.settings.probe_timeout)
            return "ok"
        except Exception as error:  # the type only: a reason, never a connection string
            return f"unreachable ({type(error).__name__})"

    async def openapi_json(self, request: Request) -> Response:
        return JSONResponse(openapi.document())

    async def docs(self, request: Request) -> Response:
        return HTMLResponse(openapi.html_page())


async def _http_problem(request: Request, error: HTTPException) -> Response:
    kind = HTTP_PROBLEMS.get(error.status_code, "not-found")
    return Problem(
        kind, f"{request.method} {request.url.path}: {error.detail}", headers=error.headers
    ).response()


def create_app(
    services: Services, settings: WebhookSettings | None = None, lifespan=None
) -> Starlette:
    routes = Routes(services, settings or WebhookSettings())
    partner = "/v1/partners/{partner:str}"
    table = [
        Route("/healthz", routes.healthz, methods=["GET"]),
        Route("/readyz", routes.readyz, methods=["GET"]),
        Route("/openapi.json", routes.openapi_json, methods=["GET"]),
        Route("/docs", routes.docs, methods=["GET"]),
        # Partner-less forms: the partner is named by `webhook-partner` or found by its signature.
        Route("/v1/requests", routes.post_request, methods=["POST"]),
        Route("/v1/requests/{intake_id:str}", routes.get_status, methods=["GET"]),
        Route(f"{partner}/requests", routes.post_request, methods=["POST"]),
        Route(partner + "/requests/{intake_id:str}", routes.get_status, methods=["GET"]),
        Route(f"{partner}/alertmanager", routes.post_alerts, methods=["POST"]),
        Route(f"{partner}/mime", routes.post_mime, methods=["POST"]),
    ]
    return Starlette(
        routes=table, exception_handlers={HTTPException: _http_problem}, lifespan=lifespan
    )
