"""The guidance for one request: GTI deadline, phone lines valid after it, on-call page time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from workers.escalation.calendar import (
    Window,
    add_covered,
    next_covered,
    next_window_opening,
    support_open,
    window_at,
)
from workers.escalation.policy import Policy, default_policy


@dataclass(frozen=True)
class PhoneLine:
    """One line valid at a given moment, with the window in which it is to be called."""

    key: str  # "switchboard" | "oncall" | "managerial" (keys of config/policy.toml)
    number: str  # as written in config, e.g. "+33 2 90 92 05 50"
    label: dict[str, str]  # {"fr": ..., "en": ...}
    fee: str | None  # e.g. "350 € HT" / None
    opens_at: datetime  # start of the window in which the line is to be called
    closes_at: datetime


@dataclass(frozen=True)
class Guidance:
    """What an acknowledgement tells the customer about escalation, for that moment and contract."""

    received_at: datetime  # aware, Europe/Paris
    support_open: bool  # support desk open at received_at
    covered_now: bool  # received_at inside the contract's covered hours
    gti_deadline: datetime | None  # urgent + eligible + verified only
    phones: tuple[PhoneLine, ...]  # lines to call after the deadline; () for routine/unverified
    phones_from: (
        datetime | None
    )  # when calling becomes legitimate: the deadline, or the next opening
    oncall_page_at: (
        datetime | None
    )  # when the on-call team is paged (== received_at when paged now)
    page_now: bool
    work_starts_at: datetime | None  # first covered moment at or after received_at
    incidents_url: str
    portal_url: str
    portal_name: str = ""  # added: the portal as customers know it, e.g. "EVA Pilote"


def _phone_line(window: Window, policy: Policy) -> PhoneLine:
    spec = next(line for line in policy.lines if line.key == window.key)
    return PhoneLine(
        spec.key, spec.number, dict(spec.label), spec.fee, window.opens_at, window.closes_at
    )


def phones_after(
    deadline: datetime, policy: Policy
) -> tuple[tuple[PhoneLine, ...], datetime | None]:
    """The lines open at `deadline`, else those of the next window to open, and from when."""
    open_now = [w for line in policy.lines if (w := window_at(line.key, deadline, policy=policy))]
    if open_now:
        return tuple(_phone_line(w, policy) for w in open_now), deadline
    # The deadline falls in a gap (lunch, 18:00-19:00, 08:00-08:30): point to what opens next.
    upcoming = next_window_opening(deadline, policy=policy)
    if not upcoming:
        return (), None
    return tuple(_phone_line(w, policy) for w in upcoming), upcoming[0].opens_at


def guidance_for(
    received_at: datetime,
    *,
    urgent: bool,
    verified: bool,
    coverage: str,
    gti: timedelta,
    policy: Policy | None = None,
) -> Guidance:
    """The escalation guidance for a request received at `received_at` on this contract.

    `urgent` means urgent *and eligible* (dedicated service): the caller has already
    downgraded an ineligible urgent request to routine.

    A pure function of its arguments, remembered for the last requests: a filing works it out
    for its plan (page time, deadline) and its acknowledgement again, a moment later, for the
    wording (two calendar walks of 0.1-0.2 ms each, now one).
    """
    policy = policy or default_policy()
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError(f"received_at {received_at!r} is naive; pass an aware datetime")
    return _remembered(received_at, urgent, verified, coverage, gti, _Same(policy))


class _Same:
    """A policy as a cache key, by identity (its tables are not hashable); the cache holds it,
    so its identity is not reused while the entry lives."""

    __slots__ = ("policy",)

    def __init__(self, policy: Policy):
        self.policy = policy

    def __hash__(self) -> int:
        return id(self.policy)

    def __eq__(self, other) -> bool:
        return isinstance(other, _Same) and other.policy is self.policy


@lru_cache(maxsize=1024)
def _remembered(
    received_at: datetime, urgent: bool, verified: bool, coverage: str, gti: timedelta, same: _Same
) -> Guidance:
    policy = same.policy
    received = received_at.astimezone(policy.timezone)
    work_starts = next_covered(received, coverage, policy=policy)
    # Compared as instants: same-zone datetimes would compare wall clocks and ignore `fold`.
    covered_now = work_starts.timestamp() == received.timestamp()
    escalates = urgent and verified
    deadline = add_covered(received, gti, coverage, policy=policy) if escalates else None
    phones, phones_from = phones_after(deadline, policy) if deadline else ((), None)
    return Guidance(
        received_at=received,
        support_open=support_open(received, policy=policy),
        covered_now=covered_now,
        gti_deadline=deadline,
        phones=phones,
        phones_from=phones_from,
        oncall_page_at=(received if covered_now else work_starts) if escalates else None,
        page_now=escalates and covered_now,
        work_starts_at=work_starts,
        incidents_url=policy.incidents_url,
        portal_url=policy.portal_url,
        portal_name=policy.portal_name,
    )
