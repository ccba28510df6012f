"""Business calendar: business days, support and on-call hours, phone windows, covered time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

import holidays

from workers.escalation.policy import Policy, Schedule, default_policy

# Any schedule with a window repeats within a year or two; scanning further means the
# schedule never opens (or never closes), and we stop instead of looping forever.
_HORIZON_DAYS = 800


class Window(NamedTuple):
    """One concrete, uninterrupted window [opens_at, closes_at) of a phone line."""

    key: str
    opens_at: datetime
    closes_at: datetime


Piece = tuple[datetime, datetime]


@lru_cache(maxsize=8)
def _holidays(country: str, subdivision: str | None) -> holidays.HolidayBase:
    # One lazily-extended calendar per country: it fills in each year on first lookup.
    return holidays.country_holidays(country, subdiv=subdivision)


def is_business_day(day: date, *, policy: Policy | None = None) -> bool:
    """A configured weekday that is neither a public holiday nor an extra closure."""
    policy = policy or default_policy()
    return _business_day(
        day,
        policy.business_weekdays,
        policy.extra_closures,
        policy.extra_open_days,
        policy.holiday_country,
        policy.holiday_subdivision,
    )


@lru_cache(maxsize=8192)
def _business_day(
    day: date,
    weekdays: frozenset[int],
    closures: frozenset[date],
    open_days: frozenset[date],
    country: str,
    subdivision: str | None,
) -> bool:
    # Cached: the guidance of one request asks about the same few days many times.
    if day in open_days:
        return True
    if day in closures or day.isoweekday() not in weekdays:
        return False
    return day not in _holidays(country, subdivision)


def _utc(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{dt!r} is naive; the calendar needs an aware datetime")
    return dt.astimezone(UTC)


def _local_day(dt: datetime, policy: Policy) -> date:
    return dt.astimezone(policy.timezone).date()


def _day_pieces(schedule: Schedule, day: date, policy: Policy) -> tuple[Piece, ...]:
    """The windows of one local day as UTC instants (wall-clock offsets resolved per end)."""
    spans = (
        schedule.business_days
        if is_business_day(day, policy=policy)
        else schedule.non_business_days
    )
    return _spans_on(spans, day, policy.timezone)


@lru_cache(maxsize=8192)
def _spans_on(spans: tuple, day: date, zone) -> tuple[Piece, ...]:
    midnight = datetime.combine(day, time.min, tzinfo=zone)
    # Same-tzinfo addition is wall-clock arithmetic: 00:00 + 8 h is 08:00 local on any day,
    # including the 23 h and 25 h DST days; only then is it turned into an instant.
    return tuple(
        ((midnight + s.start).astimezone(UTC), (midnight + s.end).astimezone(UTC)) for s in spans
    )


def _pieces_from(schedule: Schedule, day: date, policy: Policy) -> Iterator[Piece]:
    for offset in range(_HORIZON_DAYS):
        yield from _day_pieces(schedule, day + timedelta(days=offset), policy)


def _schedule_covers(schedule: Schedule, dt: datetime, policy: Policy) -> bool:
    at = _utc(dt)
    return any(s <= at < e for s, e in _day_pieces(schedule, _local_day(at, policy), policy))


def support_open(dt: datetime, *, policy: Policy | None = None) -> bool:
    """The support desk is open at `dt` (08:00-19:00 on business days by default)."""
    policy = policy or default_policy()
    return _schedule_covers(policy.schedules[policy.support_schedule], dt, policy)


def on_call(dt: datetime, *, policy: Policy | None = None) -> bool:
    """`dt` is on-call time (19:00-08:00, and all day on non-business days, by default)."""
    policy = policy or default_policy()
    return _schedule_covers(policy.schedules[policy.oncall_schedule], dt, policy)


def covered(dt: datetime, coverage: str, *, policy: Policy | None = None) -> bool:
    """`dt` is inside the covered hours of a contract (`business` or `24/7`)."""
    policy = policy or default_policy()
    return _schedule_covers(policy.coverage_schedule(coverage), dt, policy)


def next_covered(dt: datetime, coverage: str, *, policy: Policy | None = None) -> datetime:
    """The first covered moment at or after `dt`, in the policy's time zone."""
    policy = policy or default_policy()
    at = _utc(dt)
    for start, end in _pieces_from(
        policy.coverage_schedule(coverage), _local_day(at, policy), policy
    ):
        if end > at:
            return max(start, at).astimezone(policy.timezone)
    raise ValueError(f"coverage {coverage!r} has no covered hours within {_HORIZON_DAYS} days")


def add_covered(
    start: datetime, duration: timedelta, coverage: str, *, policy: Policy | None = None
) -> datetime:
    """`start` + `duration` of real elapsed time counted only inside covered hours."""
    policy = policy or default_policy()
    at, remaining = _utc(start), duration
    for piece_start, piece_end in _pieces_from(
        policy.coverage_schedule(coverage), _local_day(at, policy), policy
    ):
        begin = max(piece_start, at)
        if piece_end <= begin:
            continue
        # UTC subtraction: a piece across a DST change holds its real length, not wall time.
        if remaining <= piece_end - begin:
            return (begin + remaining).astimezone(policy.timezone)
        remaining -= piece_end - begin
    raise ValueError(f"coverage {coverage!r} cannot absorb {duration} within {_HORIZON_DAYS} days")


def _first_start(schedule: Schedule, start: datetime, policy: Policy) -> datetime:
    """Walk back over whole covered days to where the window holding `start` really opens."""
    for _ in range(_HORIZON_DAYS):
        day = _local_day(start, policy)
        midnight = datetime.combine(day, time.min, tzinfo=policy.timezone).astimezone(UTC)
        previous = _day_pieces(schedule, day - timedelta(days=1), policy)
        if start != midnight or not previous or previous[-1][1] != start:
            break
        start = previous[-1][0]
    return start


def _windows_from(key: str, schedule: Schedule, day: date, policy: Policy) -> Iterator[Window]:
    """Merged windows from `day` on: pieces that touch across midnight form one window."""
    current: Piece | None = None
    for start, end in _pieces_from(schedule, day, policy):
        if current and current[1] == start:
            current = (current[0], end)
            continue
        if current:
            yield Window(key, current[0], current[1])
        current = (_first_start(schedule, start, policy) if current is None else start, end)
    if current:
        yield Window(key, current[0], current[1])


def _local(window: Window, policy: Policy) -> Window:
    # Windows travel in UTC inside this module (same-zone comparisons ignore `fold`) and
    # leave it in local time.
    tz = policy.timezone
    return window._replace(
        opens_at=window.opens_at.astimezone(tz), closes_at=window.closes_at.astimezone(tz)
    )


def _line_schedule(key: str, policy: Policy) -> Schedule:
    for line in policy.lines:
        if line.key == key:
            return policy.schedules[line.schedule]
    raise ValueError(f"unknown phone line {key!r}; expected one of {[x.key for x in policy.lines]}")


def line_windows(
    line: str,
    around: datetime,
    *,
    before: timedelta = timedelta(days=1),
    after: timedelta = timedelta(days=7),
    policy: Policy | None = None,
) -> list[Window]:
    """The concrete windows of phone line `line` that overlap [around - before, around + after]."""
    policy = policy or default_policy()
    low, high = _utc(around) - before, _utc(around) + after
    found = []
    for window in _windows_from(
        line, _line_schedule(line, policy), _local_day(low, policy), policy
    ):
        if window.opens_at > high:
            break
        if window.closes_at > low:
            found.append(_local(window, policy))
    return found


def window_at(line: str, dt: datetime, *, policy: Policy | None = None) -> Window | None:
    """The window of phone line `line` that contains `dt`, if it is open then."""
    policy = policy or default_policy()
    at = _utc(dt)
    for window in _windows_from(line, _line_schedule(line, policy), _local_day(at, policy), policy):
        if window.closes_at > at:
            return _local(window, policy) if window.opens_at <= at else None
    return None


def _next_opening(line: str, at: datetime, policy: Policy) -> Window | None:
    for window in _windows_from(line, _line_schedule(line, policy), _local_day(at, policy), policy):
        if window.opens_at >= at:
            return window
    return None


def next_window_opening(dt: datetime, *, policy: Policy | None = None) -> tuple[Window, ...]:
    """The windows, over all lines, that open first at or after `dt` (all at that moment)."""
    policy = policy or default_policy()
    at = _utc(dt)
    openings = [w for line in policy.lines if (w := _next_opening(line.key, at, policy))]
    if not openings:
        return ()
    first = min(w.opens_at for w in openings)
    return tuple(_local(w, policy) for w in openings if w.opens_at == first)
