"""The webhook edge's limits: typed settings, the per-partner token bucket, the capped body reader."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Callable

from cachetools import LRUCache
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)
from starlette.requests import Request

from ingest.config_files import config_dir


class WebhookSettings(BaseSettings):
    """`[webhooks]` in config/settings.toml, each key overridable as GUICHET_WEBHOOK_<KEY>."""

    model_config = SettingsConfigDict(env_prefix="GUICHET_WEBHOOK_", extra="ignore")

    max_body: int = Field(1_048_576, description="bytes of one JSON request, attachments included")
    max_mime: int = Field(
        44_040_192, description="bytes of one raw-MIME form post (42 MiB: a 40 MiB message + form)"
    )
    max_unauthenticated: int = Field(
        65_536,
        description="bytes of a raw-MIME form read before its signature fields must have come",
    )
    max_attachment: int = Field(262_144, description="decoded bytes of one attachment")
    max_attachments: int = Field(5, description="attachments in one request")
    tolerance: int = Field(300, description="seconds a signature timestamp may differ from now")
    rate: float = Field(10.0, description="requests per second per partner, sustained")
    burst: int = Field(20, description="requests a partner may send at once")
    retry_after: int = Field(30, description="seconds a partner waits after a 503")
    in_progress_grace: int = Field(
        120, description="seconds after which an unfinished idempotency claim may be retaken"
    )
    partner_cache: float = Field(
        5.0, description="seconds partners and secrets are cached (revocation delay)"
    )
    cache_entries: int = Field(
        4096, description="entries in each in-memory cache (partners, rate buckets)"
    )
    auth_failure_rate: float = Field(
        0.2, description="failed authentications per second per client address, sustained"
    )
    auth_failure_burst: int = Field(
        10, description="failed authentications a client address may make at once"
    )
    probe_timeout: float = Field(2.0, description="seconds /readyz waits for each dependency")
    client_label: str = Field("client_number", description="Alertmanager label naming the account")
    contact_name_label: str = "contact_name"
    contact_email_label: str = "contact_email"
    severity_label: str = "severity"
    default_severity: str = Field(
        "critical", description="severity of a firing alert without the label"
    )

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, InitSettingsSource(settings_cls, _toml_table()))


def _toml_table() -> dict:
    """The `[webhooks]` table of config/settings.toml; an absent file or table means the defaults."""
    path = config_dir() / "settings.toml"
    if not path.exists():
        return {}
    with path.open("rb") as handle:
        return tomllib.load(handle).get("webhooks", {})


class RateLimiter:
    """Token bucket per key (a partner, a client address), in this process: the limit protects
    this process's loop and pool. At most `entries` buckets: the least recently used goes."""

    def __init__(
        self,
        rate: float,
        burst: int,
        clock: Callable[[], float] = time.monotonic,
        entries: int = 4096,
    ):
        self.rate, self.burst, self.clock = rate, burst, clock
        self._buckets: LRUCache = LRUCache(maxsize=entries)  # key -> (tokens, at)

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token again (0 when it has one now); takes nothing."""
        tokens, at = self._buckets.get(key, (float(self.burst), self.clock()))
        tokens = min(float(self.burst), tokens + (self.clock() - at) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, key: str) -> float:
        """0 when a token was taken; otherwise the seconds until one is available."""
        now = self.clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate


class TooLarge(Exception):
    """The body exceeds its cap; raised before the rest of it is read."""


async def read_capped(request: Request, cap: int) -> bytes:
    """The whole body, refusing from Content-Length first and stopping as soon as the cap is passed."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise TooLarge(f"the body declares {declared} bytes; the limit is {cap}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > cap:
            raise TooLarge(f"the body exceeds the limit of {cap} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
