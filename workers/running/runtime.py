"""What a worker or CLI process needs, built once from the settings: store, directory, outbound mail."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from sqlalchemy.orm import sessionmaker

from ingest.analysis import Analyser, Rules
from ingest.settings import Settings, get_settings
from workers.acks.outbound import Outbound, outbound_for
from workers.acks.rate import AckRateLimiter, PageRateLimiter
from workers.store.directory import SqlDirectory
from workers.store.engine import session_factory
from workers.store.group_commit import GroupCommit, each


def rules_for(settings: Settings) -> Rules:
    return Rules(
        urgent_addresses=tuple(settings.urgent_addresses),
        own_addresses=tuple(settings.all_addresses + [settings.ack_from.lower()]),
        trusted_authserv_ids=tuple(settings.trusted_authserv_ids),
        time_limit=settings.parse_timeout,
    )


def sql_directory(url: str) -> SqlDirectory:
    """Picklable factory for parser processes."""
    return SqlDirectory(session_factory(url))


@dataclass
class Runtime:
    settings: Settings
    outbound_override: Outbound | None = None

    @cached_property
    def sessions(self) -> sessionmaker:
        return session_factory(self.settings.database)

    @cached_property
    def writes(self) -> GroupCommit:
        """The short writes around a delivery (an acknowledgement recorded sent, a page claimed
        or recorded sent), each a callable of the session: those this process's threads hand
        in at the same moment share one transaction, one turn at the write lock, one fsync."""
        return GroupCommit(self.sessions, each)

    @cached_property
    def directory(self) -> SqlDirectory:
        return SqlDirectory(self.sessions)

    @cached_property
    def analyser(self) -> Analyser:
        return Analyser(self.directory, rules_for(self.settings))

    @cached_property
    def outbound(self) -> Outbound:
        if self.outbound_override is not None:
            return self.outbound_override
        return outbound_for(self.settings)

    @cached_property
    def ack_limiter(self) -> AckRateLimiter:
        s = self.settings
        return AckRateLimiter(
            s.broker_url,
            s.ack_rate_limit,
            s.ack_rate_period,
            s.ack_rate_domain_limit,
            s.ack_rate_global_limit,
        )

    @cached_property
    def page_limiter(self) -> PageRateLimiter:
        s = self.settings
        return PageRateLimiter(s.broker_url, s.page_unknown_per_account, s.page_unknown_total)

    @property
    def mail_domain(self) -> str:
        return self.settings.ack_from.rpartition("@")[2] or "guichet.invalid"


_current: Runtime | None = None


def runtime() -> Runtime:
    global _current
    if _current is None:
        _current = Runtime(get_settings())
    return _current


def set_runtime(value: Runtime | None) -> None:
    """Tests and `guichet run` point the actors of this process at their own settings."""
    global _current
    _current = value
