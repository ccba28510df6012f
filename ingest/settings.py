"""Typed settings, read once: environment first, then `config/settings.toml`, then defaults."""

from __future__ import annotations

import json
import os
import socket
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AliasChoices,
    BeforeValidator,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from ingest.config_files import config_dir
from ingest.edges.imap_config import Mailbox


def split_list(value):
    """A list setting from the environment: a JSON array or comma-separated words."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(
                f"not a JSON array ({error.msg}); or write it comma-separated"
            ) from None
    return [v.strip() for v in text.split(",") if v.strip()]


# Every list-typed setting: a TOML array in settings.toml, JSON or comma-separated in the environment.
AddressList = Annotated[list[str], NoDecode, BeforeValidator(split_list)]
MIB = 1024 * 1024


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    """Every setting guichet reads; `docs/operations.md` and `config/settings.toml` document each key."""

    # Errors name the setting, never its value: a value may be a password.
    model_config = SettingsConfigDict(
        extra="ignore", populate_by_name=True, hide_input_in_errors=True
    )

    home: Path = Field(Path("var"), validation_alias=_env("GUICHET_HOME", "home"))
    database_url: str | None = Field(None, validation_alias=_env("DATABASE_URL", "database_url"))
    redis_url: str | None = Field(None, validation_alias=_env("REDIS_URL", "redis_url"))
    smtp_listen: str = Field(
        "127.0.0.1:2525", validation_alias=_env("GUICHET_SMTP_LISTEN", "smtp_listen")
    )
    http_listen: str = Field(
        "127.0.0.1:8025", validation_alias=_env("GUICHET_HTTP_LISTEN", "http_listen")
    )
    # Prometheus metrics (docs/metrics.md): a port of its own for `guichet smtp` / `worker` run
    # alone ("" = none), and the bearer token /metrics asks for (none: loopback clients only).
    metrics_listen: str = Field(
        "", validation_alias=_env("GUICHET_METRICS_LISTEN", "metrics_listen")
    )
    metrics_token: SecretStr | None = Field(
        None, validation_alias=_env("GUICHET_METRICS_TOKEN", "metrics_token")
    )
    support_addresses: AddressList = Field(
        ["support@dri.example"],
        validation_alias=_env("GUICHET_SUPPORT_ADDRESSES", "support_addresses"),
    )
    urgent_addresses: AddressList = Field(
        ["urgent@dri.example"],
        validation_alias=_env("GUICHET_URGENT_ADDRESSES", "urgent_addresses"),
    )
    ack_from: str = Field(
        "support@dri.example", validation_alias=_env("GUICHET_ACK_FROM", "ack_from")
    )
    smtp_relay: str | None = Field(None, validation_alias=_env("GUICHET_SMTP_RELAY", "smtp_relay"))
    smtp_relay_password: SecretStr | None = Field(
        None, validation_alias=_env("GUICHET_SMTP_RELAY_PASSWORD", "smtp_relay_password")
    )
    smtp_relay_username: str | None = Field(
        None, validation_alias=_env("GUICHET_SMTP_RELAY_USERNAME", "smtp_relay_username")
    )
    smtp_relay_tls: Literal["opportunistic", "starttls", "implicit", "none"] = Field(
        "opportunistic", validation_alias=_env("GUICHET_SMTP_RELAY_TLS", "smtp_relay_tls")
    )
    smtp_relay_tls_verify: bool = Field(
        True, validation_alias=_env("GUICHET_SMTP_RELAY_TLS_VERIFY", "smtp_relay_tls_verify")
    )
    smtp_relay_ca_file: Path | None = Field(
        None, validation_alias=_env("GUICHET_SMTP_RELAY_CA_FILE", "smtp_relay_ca_file")
    )
    ack_retry_first: float = Field(
        60.0, validation_alias=_env("GUICHET_ACK_RETRY_FIRST", "ack_retry_first")
    )
    ack_retry_longest: float = Field(
        3600.0, validation_alias=_env("GUICHET_ACK_RETRY_LONGEST", "ack_retry_longest")
    )
    ack_retry_for: float = Field(
        86400.0, validation_alias=_env("GUICHET_ACK_RETRY_FOR", "ack_retry_for")
    )
    # 40 MiB: a 20 MB attachment is 27.4 MB once base64-encoded, and Microsoft 365 lets its
    # users send 35 MB messages by default; see docs/operations.md, "Behind Postfix".
    max_message_size: int = Field(
        40 * MIB, validation_alias=_env("GUICHET_MAX_MESSAGE_SIZE", "max_message_size")
    )
    smtp_hostname: str = Field(
        default_factory=socket.gethostname,
        validation_alias=_env("GUICHET_SMTP_HOSTNAME", "smtp_hostname"),
    )
    smtp_tls_cert: Path | None = Field(
        None, validation_alias=_env("GUICHET_SMTP_TLS_CERT", "smtp_tls_cert")
    )
    smtp_tls_key: Path | None = Field(
        None, validation_alias=_env("GUICHET_SMTP_TLS_KEY", "smtp_tls_key")
    )
    smtp_trusted_relays: AddressList = Field(
        [], validation_alias=_env("GUICHET_SMTP_TRUSTED_RELAYS", "smtp_trusted_relays")
    )
    smtp_drain_timeout: float = Field(
        30.0, validation_alias=_env("GUICHET_SMTP_DRAIN_TIMEOUT", "smtp_drain_timeout")
    )
    max_recipients: int = Field(
        20, validation_alias=_env("GUICHET_MAX_RECIPIENTS", "max_recipients")
    )
    max_connections_per_ip: int = Field(
        20, validation_alias=_env("GUICHET_MAX_CONNECTIONS_PER_IP", "max_connections_per_ip")
    )
    message_rate_per_ip: str = Field(
        "120/minute", validation_alias=_env("GUICHET_MESSAGE_RATE_PER_IP", "message_rate_per_ip")
    )
    limits_exempt: AddressList = Field(
        ["127.0.0.1", "::1"], validation_alias=_env("GUICHET_LIMITS_EXEMPT", "limits_exempt")
    )
    parse_timeout: float = Field(
        10.0, validation_alias=_env("GUICHET_PARSE_TIMEOUT", "parse_timeout")
    )
    parse_processes: int = Field(
        2, validation_alias=_env("GUICHET_PARSE_PROCESSES", "parse_processes")
    )
    parse_reserved_processes: int = Field(
        1, validation_alias=_env("GUICHET_PARSE_RESERVED_PROCESSES", "parse_reserved_processes")
    )
    parse_retry_timeout: float = Field(
        30.0, validation_alias=_env("GUICHET_PARSE_RETRY_TIMEOUT", "parse_retry_timeout")
    )
    trusted_authserv_ids: AddressList = Field(
        [], validation_alias=_env("GUICHET_TRUSTED_AUTHSERV_IDS", "trusted_authserv_ids")
    )
    dkim_dns: bool = Field(True, validation_alias=_env("GUICHET_DKIM_DNS", "dkim_dns"))
    dkim_dns_timeout: float = Field(
        2.0, validation_alias=_env("GUICHET_DKIM_DNS_TIMEOUT", "dkim_dns_timeout")
    )
    dkim_dns_budget: int = Field(
        2, validation_alias=_env("GUICHET_DKIM_DNS_BUDGET", "dkim_dns_budget")
    )
    ticket_tag: str = Field("DRI", validation_alias=_env("GUICHET_TICKET_TAG", "ticket_tag"))
    ack_rate_limit: int = Field(
        5, validation_alias=_env("GUICHET_ACK_RATE_LIMIT", "ack_rate_limit")
    )
    ack_rate_period: int = Field(
        3600, validation_alias=_env("GUICHET_ACK_RATE_PERIOD", "ack_rate_period")
    )
    ack_rate_domain_limit: int = Field(
        30, validation_alias=_env("GUICHET_ACK_RATE_DOMAIN_LIMIT", "ack_rate_domain_limit")
    )
    ack_rate_global_limit: int = Field(
        300, validation_alias=_env("GUICHET_ACK_RATE_GLOBAL_LIMIT", "ack_rate_global_limit")
    )
    ack_minimal_subject_chars: int = Field(
        80, validation_alias=_env("GUICHET_ACK_MINIMAL_SUBJECT_CHARS", "ack_minimal_subject_chars")
    )
    page_unknown_per_account: int = Field(
        2, validation_alias=_env("GUICHET_PAGE_UNKNOWN_PER_ACCOUNT", "page_unknown_per_account")
    )
    duplicate_window_hours: float = Field(
        24.0, validation_alias=_env("GUICHET_DUPLICATE_WINDOW_HOURS", "duplicate_window_hours")
    )
    page_unknown_total: int = Field(
        6, validation_alias=_env("GUICHET_PAGE_UNKNOWN_TOTAL", "page_unknown_total")
    )
    worker_threads: int = Field(
        8, validation_alias=_env("GUICHET_WORKER_THREADS", "worker_threads")
    )
    worker_processes: int = Field(  # 0: one per core (`worker_process_count`)
        0, validation_alias=_env("GUICHET_WORKER_PROCESSES", "worker_processes")
    )
    worker_idle_poll_ms: int = Field(
        1000, ge=10, validation_alias=_env("GUICHET_WORKER_IDLE_POLL_MS", "worker_idle_poll_ms")
    )
    sweep_interval: float = Field(
        30.0, validation_alias=_env("GUICHET_SWEEP_INTERVAL", "sweep_interval")
    )
    sweep_grace: float = Field(60.0, validation_alias=_env("GUICHET_SWEEP_GRACE", "sweep_grace"))
    oncall_email: str | None = Field(
        None, validation_alias=_env("GUICHET_ONCALL_EMAIL", "oncall_email")
    )
    oncall_webhook: str | None = Field(
        None, validation_alias=_env("GUICHET_ONCALL_WEBHOOK", "oncall_webhook")
    )
    # "auto": readable coloured lines on a terminal, JSON lines otherwise.
    log_format: Literal["auto", "text", "json"] = Field(
        "auto", validation_alias=_env("GUICHET_LOG_FORMAT", "log_format")
    )
    mailboxes: list[Mailbox] = Field(
        [], validation_alias=_env("GUICHET_MAILBOXES", "mailboxes")
    )  # IMAP mailboxes `guichet fetch` reads (JSON list in the environment)

    @field_validator("support_addresses", "urgent_addresses", mode="after")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.lower() for v in value]

    @model_validator(mode="after")
    def _pairs(self) -> Settings:
        if self.smtp_relay_password and not self.smtp_relay_username:
            raise ValueError(
                "GUICHET_SMTP_RELAY_PASSWORD is set without GUICHET_SMTP_RELAY_USERNAME: set both"
            )
        if bool(self.smtp_tls_cert) != bool(self.smtp_tls_key):
            raise ValueError("set both GUICHET_SMTP_TLS_CERT and GUICHET_SMTP_TLS_KEY, or neither")
        return self

    @field_validator("mailboxes", mode="after")
    @classmethod
    def _distinct_names(cls, value: list[Mailbox]) -> list[Mailbox]:
        names = [m.name for m in value]
        if len(names) != len(set(names)):
            raise ValueError(f"mailbox names must be distinct: {names}")
        return value

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_dir() / "settings.toml")
        return (init_settings, env_settings, toml)

    # Derived values -----------------------------------------------------------------

    @property
    def database(self) -> str:
        """`DATABASE_URL`, or SQLite under the state folder (the embedded default)."""
        return self.database_url or f"sqlite:///{(self.home / 'guichet.sqlite3').resolve()}"

    @property
    def worker_process_count(self) -> int:
        """Worker processes `guichet run` starts: as set, or one per core when 0."""
        return self.worker_processes or os.cpu_count() or 1

    @property
    def embedded_redis(self) -> bool:
        return not self.redis_url

    @property
    def redis_socket(self) -> Path:
        return (self.home / "redis" / "redis.sock").resolve()

    @property
    def broker_url(self) -> str:
        return self.redis_url or f"unix://{self.redis_socket}"

    @property
    def outbox(self) -> Path:
        return (self.home / "outbox").resolve()

    @property
    def all_addresses(self) -> list[str]:
        return self.support_addresses + [
            a for a in self.urgent_addresses if a not in self.support_addresses
        ]


def host_port(value: str) -> tuple[str, int]:
    """Split "host:port" (IPv6 in brackets accepted)."""
    host, _, port = value.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
