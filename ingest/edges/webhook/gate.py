"""Who is calling and may they: partner lookup (cached), authentication, rate limit, account restriction."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from starlette.requests import Request

from ingest.edges.webhook import signatures
from ingest.edges.webhook.limits import RateLimiter, WebhookSettings
from ingest.edges.webhook.ports import Partner, Partners
from ingest.edges.webhook.problems import Problem

NOBODY = Partner(name="", secrets=())  # unknown or revoked: no secret can match


class Gate:
    def __init__(
        self, partners: Partners, settings: WebhookSettings, clock: Callable[[], float] = time.time
    ):
        self.partners, self.settings, self.clock = partners, settings, clock
        self.limiter = RateLimiter(settings.rate, settings.burst)
        self._cache: dict[str, tuple[float, Partner]] = {}

    async def partner(self, name: str) -> Partner:
        """From the store at most every `partner_cache` seconds, so a revocation applies within that delay."""
        at, partner = self._cache.get(name, (-math.inf, NOBODY))
        if time.monotonic() - at > self.settings.partner_cache:
            partner = await asyncio.to_thread(self.partners.find, name) or NOBODY
            self._cache[name] = (time.monotonic(), partner)
        return partner

    async def identify(self, request: Request, body: bytes) -> str:
        """For the partner-less routes: the `webhook-partner` header, else the partner one of
        whose secrets signed the request ("" when none did: the signature check then says 401)."""
        named = request.headers.get("webhook-partner", "").strip()
        if named or "webhook-signature" not in request.headers:
            return named
        for name in await asyncio.to_thread(self.partners.names):
            partner = await self.partner(name)
            try:
                signatures.verify(
                    request.headers,
                    body,
                    partner.secrets,
                    now=self.clock(),
                    tolerance=self.settings.tolerance,
                )
            except signatures.AuthFailure:
                continue
            return name
        return ""

    async def signed(self, request: Request, name: str, body: bytes) -> tuple[Partner, str]:
        """Standard Webhooks signature; returns the partner and its idempotency key."""
        partner = await self.partner(name)
        try:
            msg_id = signatures.verify(
                request.headers,
                body,
                partner.secrets,
                now=self.clock(),
                tolerance=self.settings.tolerance,
            )
        except signatures.AuthFailure as failure:
            raise Problem(failure.kind, failure.detail) from None
        self.throttle(partner)
        return partner, request.headers.get("idempotency-key") or msg_id

    async def signed_or_bearer(
        self, request: Request, name: str, body: bytes
    ) -> tuple[Partner, str | None]:
        """A signature when sent; otherwise a bearer secret (no replay protection, no idempotency key)."""
        if "webhook-signature" in request.headers:
            return await self.signed(request, name, body)
        partner = await self.partner(name)
        try:
            signatures.verify_bearer(request.headers.get("authorization", ""), partner.secrets)
        except signatures.AuthFailure as failure:
            raise Problem(failure.kind, failure.detail) from None
        self.throttle(partner)
        return partner, request.headers.get("idempotency-key")

    async def form_signed(self, name: str, fields: dict[str, str]) -> tuple[Partner, str]:
        partner = await self.partner(name)
        try:
            token = signatures.verify_form(
                fields, partner.secrets, now=self.clock(), tolerance=self.settings.tolerance
            )
        except signatures.AuthFailure as failure:
            raise Problem(failure.kind, failure.detail) from None
        self.throttle(partner)
        return partner, token

    def throttle(self, partner: Partner) -> None:
        wait = self.limiter.take(partner.name)
        if wait > 0:
            raise Problem(
                "rate-limited",
                f"more than {self.settings.rate:g} requests/s",
                retry_after=math.ceil(wait),
            )

    @staticmethod
    def allow(partner: Partner, client_numbers: list[str | None]) -> None:
        refused = sorted({c for c in client_numbers if not partner.allows(c)})
        if refused:
            raise Problem(
                "client-not-allowed",
                f"client_number {', '.join(refused)} is not among this partner's accounts",
            )
