"""Who is calling and may they: partner lookup (cached), authentication, rate limits, account restriction.

Every failed authentication costs the caller's address a token (`auth_failure_rate`, `_burst`);
an address without tokens is answered 429 before its body is read or any HMAC computed."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable

from cachetools import TTLCache
from starlette.requests import Request

from ingest import metrics
from ingest.edges.webhook import signatures
from ingest.edges.webhook.limits import RateLimiter, WebhookSettings
from ingest.edges.webhook.ports import PARTNER_NAME, Partner, Partners
from ingest.edges.webhook.problems import Problem

NOBODY = Partner(name="", secrets=())  # unknown or revoked: no secret can match
_NAME = re.compile(PARTNER_NAME)


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


class Gate:
    def __init__(
        self, partners: Partners, settings: WebhookSettings, clock: Callable[[], float] = time.time
    ):
        self.partners, self.settings, self.clock = partners, settings, clock
        entries = settings.cache_entries
        self.limiter = RateLimiter(settings.rate, settings.burst, entries=entries)
        self.failures = RateLimiter(
            settings.auth_failure_rate, settings.auth_failure_burst, entries=entries
        )
        self._cache: TTLCache = TTLCache(maxsize=entries, ttl=settings.partner_cache)

    async def partner(self, name: str) -> Partner:
        """From the store at most every `partner_cache` seconds, so a revocation applies within
        that delay; a name no partner can have is not looked up, nor cached."""
        if not _NAME.match(name):
            return NOBODY
        found = self._cache.get(name)
        if found is None:
            found = await asyncio.to_thread(self.partners.find, name) or NOBODY
            self._cache[name] = found
        return found

    def screen(self, request: Request) -> None:
        """Before anything is read: an address that failed too often waits."""
        wait = self.failures.wait(client_ip(request))
        if wait > 0:
            raise Problem(
                "too-many-failures",
                "too many failed authentications from your address; check the secret",
                retry_after=math.ceil(wait),
            )

    def refused(self, request: Request, failure: signatures.AuthFailure) -> Problem:
        self.failures.take(client_ip(request))
        metrics.signature_failed(failure.kind)
        return Problem(failure.kind, failure.detail)

    async def known(self, request: Request, name: str | None, *, signed_only: bool) -> None:
        """Before the body is read: an unknown partner named in the path, missing signature
        headers where only a signature will do, a stale timestamp."""
        try:
            if name is not None and not (await self.partner(name)).secrets:
                raise signatures.AuthFailure(
                    "no-matching-signature", "no active secret of this partner matches"
                )
            if signed_only or "webhook-signature" in request.headers:
                signatures.check_headers(
                    request.headers, now=self.clock(), tolerance=self.settings.tolerance
                )
        except signatures.AuthFailure as failure:
            raise self.refused(request, failure) from None

    async def identify(self, request: Request, body: bytes) -> str:
        """For the partner-less routes: the `webhook-partner` header, else the partner one of
        whose secrets signed the request ("" when none did: the signature check then says 401)."""
        named = request.headers.get("webhook-partner", "").strip()
        if named or "webhook-signature" not in request.headers:
            return named
        for name in await asyncio.to_thread(self.partners.names):
            partner = await self.partner(name)
            try:
                self._verify(request, body, partner)
            except signatures.AuthFailure:
                continue
            return name
        return ""

    def _verify(self, request: Request, body: bytes, partner: Partner) -> str:
        return signatures.verify(
            request.headers,
            body,
            partner.secrets,
            now=self.clock(),
            tolerance=self.settings.tolerance,
        )

    async def signed(self, request: Request, name: str, body: bytes) -> tuple[Partner, str]:
        """Standard Webhooks signature; returns the partner and its idempotency key: the signed
        webhook-id (an `Idempotency-Key` header, unsigned, may only repeat it)."""
        partner = await self.partner(name)
        try:
            msg_id = self._verify(request, body, partner)
        except signatures.AuthFailure as failure:
            raise self.refused(request, failure) from None
        offered = request.headers.get("idempotency-key")
        if offered is not None and offered != msg_id:
            raise Problem(
                "idempotency-key-mismatch",
                "Idempotency-Key is not signed: leave it out, or make it equal to webhook-id",
            )
        self.throttle(partner)
        return partner, msg_id

    async def signed_or_bearer(
        self, request: Request, name: str, body: bytes
    ) -> tuple[Partner, str | None]:
        """A signature when sent; otherwise a bearer secret (no replay protection: the key
        is the `Idempotency-Key` header, sent by the holder of the secret itself)."""
        if "webhook-signature" in request.headers:
            return await self.signed(request, name, body)
        partner = await self.partner(name)
        try:
            signatures.verify_bearer(request.headers.get("authorization", ""), partner.secrets)
        except signatures.AuthFailure as failure:
            raise self.refused(request, failure) from None
        self.throttle(partner)
        return partner, request.headers.get("idempotency-key")

    async def form_signed(self, request: Request, partner: Partner, fields: dict[str, str]) -> str:
        """A provider's form signature; returns its token (the idempotency key)."""
        try:
            token = signatures.verify_form(
                fields, partner.secrets, now=self.clock(), tolerance=self.settings.tolerance
            )
        except signatures.AuthFailure as failure:
            raise self.refused(request, failure) from None
        self.throttle(partner)
        return token

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
