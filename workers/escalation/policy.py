"""The escalation policy of config/policy.toml, loaded once into typed, frozen values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

from ingest.config_files import ConfigError, load

_FILE = "policy"


@dataclass(frozen=True)
class Span:
    """One daily window, as offsets from local midnight (end may be 24 h)."""

    start: timedelta
    end: timedelta


@dataclass(frozen=True)
class Schedule:
    """The windows of a business day and of a non-business day."""

    business_days: tuple[Span, ...]
    non_business_days: tuple[Span, ...]


@dataclass(frozen=True)
class LineSpec:
    """A phone line as configured: valid inside the windows of `schedule`."""

    key: str
    number: str
    label: Mapping[str, str]
    fee: str | None
    schedule: str


@dataclass(frozen=True)
class Policy:
    """Everything the calendar and the escalation guidance need to know."""

    timezone: ZoneInfo
    holiday_country: str
    holiday_subdivision: str | None
    business_weekdays: frozenset[int]
    extra_closures: frozenset[date]
    extra_open_days: frozenset[date]
    schedules: Mapping[str, Schedule]
    coverage: Mapping[str, str]
    support_schedule: str
    oncall_schedule: str
    lines: tuple[LineSpec, ...]
    incidents_url: str
    portal_name: str
    portal_former_name: str
    portal_url: str

    def coverage_schedule(self, coverage: str) -> Schedule:
        """The schedule of a contract's covered hours; an unknown coverage is a caller bug."""
        if coverage not in self.coverage:
            raise ValueError(
                f"unknown coverage {coverage!r}; expected one of {sorted(self.coverage)}"
            )
        return self.schedules[self.coverage[coverage]]


def _offset(text: str, where: str) -> timedelta:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except ValueError:
        raise ConfigError(f"policy.toml {where}: {text!r} is not HH:MM") from None
    if not (0 <= minutes < 60 and 0 <= hours * 60 + minutes <= 24 * 60):
        raise ConfigError(f"policy.toml {where}: {text!r} is not between 00:00 and 24:00")
    return timedelta(hours=hours, minutes=minutes)


def _spans(pairs: list, where: str) -> tuple[Span, ...]:
    spans = tuple(Span(_offset(a, where), _offset(b, where)) for a, b in pairs)
    ends = [timedelta(0)] + [edge for span in spans for edge in (span.start, span.end)]
    # Sorted, non-empty and non-overlapping: the calendar walks them in order.
    if any(later < earlier for earlier, later in zip(ends, ends[1:], strict=False)) or any(
        s.start == s.end for s in spans
    ):
        raise ConfigError(f"policy.toml {where}: windows must be non-empty, sorted, disjoint")
    return spans


def _schedule(name: str, raw: dict) -> Schedule:
    where = f"[schedules.{name}]"
    return Schedule(
        _spans(raw.get("business_days", []), where),
        _spans(raw.get("non_business_days", []), where),
    )


def _line(key: str, raw: dict, schedules: Mapping[str, Schedule]) -> LineSpec:
    if raw["schedule"] not in schedules:
        raise ConfigError(f"policy.toml [phones.{key}]: no schedule named {raw['schedule']!r}")
    label = MappingProxyType(dict(raw["label"]))
    return LineSpec(key, raw["number"], label, raw.get("fee") or None, raw["schedule"])


def _check_refs(policy: Policy) -> None:
    names = [*policy.coverage.values(), policy.support_schedule, policy.oncall_schedule]
    missing = sorted(set(names) - set(policy.schedules))
    if missing:
        raise ConfigError(f"policy.toml refers to undefined schedules {missing}")
    both = policy.extra_closures & policy.extra_open_days
    if both:
        raise ConfigError(f"policy.toml: {sorted(both)} are both extra closures and open days")


def policy_from(raw: dict) -> Policy:
    """Build a `Policy` from the parsed TOML (also used by tests to build variants)."""
    try:
        schedules = {name: _schedule(name, s) for name, s in raw["schedules"].items()}
        cal, links = raw["calendar"], raw["links"]
        policy = Policy(
            timezone=ZoneInfo(raw["timezone"]),
            holiday_country=cal["holiday_country"],
            holiday_subdivision=cal.get("holiday_subdivision") or None,
            business_weekdays=frozenset(cal["business_weekdays"]),
            extra_closures=frozenset(cal.get("extra_closures", [])),
            extra_open_days=frozenset(cal.get("extra_open_days", [])),
            schedules=MappingProxyType(schedules),
            coverage=MappingProxyType(dict(raw["coverage"])),
            support_schedule=raw["roles"]["support"],
            oncall_schedule=raw["roles"]["oncall"],
            lines=tuple(_line(k, v, schedules) for k, v in raw["phones"].items()),
            incidents_url=links["incidents_url"],
            portal_name=links["portal_name"],
            portal_former_name=links.get("portal_former_name", ""),
            portal_url=links["portal_url"],
        )
    except KeyError as exc:
        raise ConfigError(f"policy.toml is missing the key {exc}; see the shipped file") from None
    _check_refs(policy)
    return policy


@lru_cache(maxsize=1)
def default_policy() -> Policy:
    """The policy of `config/policy.toml` (or `$GUICHET_CONFIG_DIR/policy.toml`), read once."""
    return policy_from(load(_FILE))
