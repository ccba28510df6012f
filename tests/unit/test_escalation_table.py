"""The escalation guidance, as one table: moment x contract x urgency -> deadline, phones, page."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from workers.escalation.guidance import guidance_for
from workers.escalation.policy import default_policy

PARIS = ZoneInfo("Europe/Paris")
GTI = {"30min": timedelta(minutes=30), "1h": timedelta(hours=1), "4h": timedelta(hours=4)}
KINDS = {"urgent": (True, True), "routine": (False, True), "unverified": (True, False)}

# Lines valid at (or next after) the deadline. Windows are half-open [opens, closes), so
# a deadline at 12:30 or 18:00 is in a gap and one at 13:30 or 19:00 is inside a window.
SW = ("switchboard",)
OC = ("oncall", "managerial")
NONE = ()


def row(name, received, kind, coverage, gti, deadline, phones, phones_from, page_at):
    """A table row; times are Paris wall clock, with an explicit offset where DST is ambiguous."""
    return pytest.param(
        received, kind, coverage, gti, deadline, phones, phones_from, page_at, id=name
    )


# Expected values worked out by hand from the policy (DESIGN.md §5, config/policy.toml):
# support 08:00-19:00 on business days; switchboard 08:30-12:30 and 13:30-18:00 on business
# days; on-call and managerial lines 19:00-08:00 and all day on non-business days.
# Week of reference: Tue 2026-03-03, Wed 03-04, Fri 03-06, Sat 03-07, Sun 03-08, Mon 03-09.
ROWS = [
    # A plain weekday, one row per window and gap.
    row("weekday 08:10 business 4h ends 12:10 while the switchboard is open",
        "2026-03-03 08:10", "urgent", "business", "4h", "2026-03-03 12:10", SW, "2026-03-03 12:10", "2026-03-03 08:10"),
    row("weekday 10:00 business 4h ends 14:00 at the switchboard",
        "2026-03-03 10:00", "urgent", "business", "4h", "2026-03-03 14:00", SW, "2026-03-03 14:00", "2026-03-03 10:00"),
    row("weekday 12:45 business 1h ends 13:45 at the switchboard",
        "2026-03-03 12:45", "urgent", "business", "1h", "2026-03-03 13:45", SW, "2026-03-03 13:45", "2026-03-03 12:45"),
    row("weekday 15:00 business 4h ends exactly at 19:00 when on-call opens",
        "2026-03-03 15:00", "urgent", "business", "4h", "2026-03-03 19:00", OC, "2026-03-03 19:00", "2026-03-03 15:00"),
    row("weekday 18:20 business 1h carries 20 minutes over to 08:20 then waits for the switchboard",
        "2026-03-03 18:20", "urgent", "business", "1h", "2026-03-04 08:20", SW, "2026-03-04 08:30", "2026-03-03 18:20"),
    row("weekday 18:45 on 24/7 30min ends 19:15 on the on-call lines",
        "2026-03-03 18:45", "urgent", "24/7", "30min", "2026-03-03 19:15", OC, "2026-03-03 19:15", "2026-03-03 18:45"),
    row("weekday 18:20 on 24/7 30min ends 18:50 in the gap before on-call",
        "2026-03-03 18:20", "urgent", "24/7", "30min", "2026-03-03 18:50", OC, "2026-03-03 19:00", "2026-03-03 18:20"),
    row("weekday 20:00 business 4h waits for 08:00 and ends 12:00",
        "2026-03-03 20:00", "urgent", "business", "4h", "2026-03-04 12:00", SW, "2026-03-04 12:00", "2026-03-04 08:00"),
    row("weekday 20:00 on 24/7 1h ends 21:00 and pages at once",
        "2026-03-03 20:00", "urgent", "24/7", "1h", "2026-03-03 21:00", OC, "2026-03-03 21:00", "2026-03-03 20:00"),
    row("weekday 03:00 on 24/7 4h ends 07:00 still on call",
        "2026-03-04 03:00", "urgent", "24/7", "4h", "2026-03-04 07:00", OC, "2026-03-04 07:00", "2026-03-04 03:00"),
    row("weekday 03:00 business 30min ends 08:30 as the switchboard opens",
        "2026-03-04 03:00", "urgent", "business", "30min", "2026-03-04 08:30", SW, "2026-03-04 08:30", "2026-03-04 08:00"),
    row("weekday 07:40 on 24/7 30min ends 08:10 in the morning gap",
        "2026-03-03 07:40", "urgent", "24/7", "30min", "2026-03-03 08:10", SW, "2026-03-03 08:30", "2026-03-03 07:40"),
    row("weekday 07:40 business 30min starts at 08:00 and ends 08:30",
        "2026-03-03 07:40", "urgent", "business", "30min", "2026-03-03 08:30", SW, "2026-03-03 08:30", "2026-03-03 08:00"),
    row("weekday 11:45 on 24/7 1h ends 12:45 at lunch and waits for 13:30",
        "2026-03-03 11:45", "urgent", "24/7", "1h", "2026-03-03 12:45", SW, "2026-03-03 13:30", "2026-03-03 11:45"),
    # Deadlines landing exactly on a boundary.
    row("a deadline at 12:30 sharp is in the lunch gap",
        "2026-03-03 12:00", "urgent", "business", "30min", "2026-03-03 12:30", SW, "2026-03-03 13:30", "2026-03-03 12:00"),
    row("a deadline at 13:30 sharp is in the afternoon window",
        "2026-03-03 13:00", "urgent", "business", "30min", "2026-03-03 13:30", SW, "2026-03-03 13:30", "2026-03-03 13:00"),
    row("a deadline at 18:00 sharp is in the evening gap until on-call",
        "2026-03-03 17:00", "urgent", "business", "1h", "2026-03-03 18:00", OC, "2026-03-03 19:00", "2026-03-03 17:00"),
    row("a deadline at 19:00 sharp is on call",
        "2026-03-03 18:00", "urgent", "24/7", "1h", "2026-03-03 19:00", OC, "2026-03-03 19:00", "2026-03-03 18:00"),
    row("a business request received at 19:00 sharp is off hours",
        "2026-03-03 19:00", "urgent", "business", "30min", "2026-03-04 08:30", SW, "2026-03-04 08:30", "2026-03-04 08:00"),
    row("a business request received at 08:00 sharp is paged at once",
        "2026-03-03 08:00", "urgent", "business", "1h", "2026-03-03 09:00", SW, "2026-03-03 09:00", "2026-03-03 08:00"),
    # Routine and unverified requests: no deadline, no phones, no page.
    row("a routine weekday request gets no deadline and no phones",
        "2026-03-03 10:00", "routine", "business", "4h", None, NONE, None, None),
    row("an unverified urgent weekday request gets no deadline and no phones",
        "2026-03-03 10:00", "unverified", "business", "4h", None, NONE, None, None),
    row("a routine 24/7 night request gets no page",
        "2026-03-03 20:00", "routine", "24/7", "1h", None, NONE, None, None),
    row("an unverified urgent Saturday request on 24/7 gets no page",
        "2026-03-07 10:00", "unverified", "24/7", "30min", None, NONE, None, None),
    # Friday evening and the weekend.
    row("Friday 17:00 business 4h ends Monday 10:00",
        "2026-03-06 17:00", "urgent", "business", "4h", "2026-03-09 10:00", SW, "2026-03-09 10:00", "2026-03-06 17:00"),
    row("Friday 19:30 business 1h waits for Monday 08:00 and ends 09:00",
        "2026-03-06 19:30", "urgent", "business", "1h", "2026-03-09 09:00", SW, "2026-03-09 09:00", "2026-03-09 08:00"),
    row("Friday 19:30 on 24/7 4h ends 23:30 on call",
        "2026-03-06 19:30", "urgent", "24/7", "4h", "2026-03-06 23:30", OC, "2026-03-06 23:30", "2026-03-06 19:30"),
    row("Friday 18:30 on 24/7 1h ends 19:30 on call",
        "2026-03-06 18:30", "urgent", "24/7", "1h", "2026-03-06 19:30", OC, "2026-03-06 19:30", "2026-03-06 18:30"),
    row("Saturday business 4h starts Monday 08:00 and ends 12:00",
        "2026-03-07 10:00", "urgent", "business", "4h", "2026-03-09 12:00", SW, "2026-03-09 12:00", "2026-03-09 08:00"),
    row("Saturday 10:00 on 24/7 30min ends 10:30 on the weekend on-call lines",
        "2026-03-07 10:00", "urgent", "24/7", "30min", "2026-03-07 10:30", OC, "2026-03-07 10:30", "2026-03-07 10:00"),
    row("a routine Saturday business request gets nothing",
        "2026-03-07 10:00", "routine", "business", "30min", None, NONE, None, None),
    row("Sunday 23:00 on 24/7 4h ends Monday 03:00 on call",
        "2026-03-08 23:00", "urgent", "24/7", "4h", "2026-03-09 03:00", OC, "2026-03-09 03:00", "2026-03-08 23:00"),
    row("Sunday 23:00 business 1h ends Monday 09:00",
        "2026-03-08 23:00", "urgent", "business", "1h", "2026-03-09 09:00", SW, "2026-03-09 09:00", "2026-03-09 08:00"),
    # Public holidays (Fri 05-01, Tue 07-14, Wed 11-11, Fri 12-25).
    row("Thursday before May Day 17:00 business 4h skips the holiday weekend to Monday 10:00",
        "2026-04-30 17:00", "urgent", "business", "4h", "2026-05-04 10:00", SW, "2026-05-04 10:00", "2026-04-30 17:00"),
    row("May Day 10:00 on 24/7 1h ends 11:00 on the holiday on-call lines",
        "2026-05-01 10:00", "urgent", "24/7", "1h", "2026-05-01 11:00", OC, "2026-05-01 11:00", "2026-05-01 10:00"),
    row("May Day 10:00 business 4h starts Monday 08:00 and ends 12:00",
        "2026-05-01 10:00", "urgent", "business", "4h", "2026-05-04 12:00", SW, "2026-05-04 12:00", "2026-05-04 08:00"),
    row("Monday 13 July 18:00 business 4h skips Bastille Day to Wednesday 11:00",
        "2026-07-13 18:00", "urgent", "business", "4h", "2026-07-15 11:00", SW, "2026-07-15 11:00", "2026-07-13 18:00"),
    row("Bastille Day 12:45 on 24/7 30min is on call, not a lunch gap",
        "2026-07-14 12:45", "urgent", "24/7", "30min", "2026-07-14 13:15", OC, "2026-07-14 13:15", "2026-07-14 12:45"),
    row("Armistice Day business 1h waits for Thursday 08:00 and ends 09:00",
        "2026-11-11 15:00", "urgent", "business", "1h", "2026-11-12 09:00", SW, "2026-11-12 09:00", "2026-11-12 08:00"),
    row("Christmas Eve 18:00 business 4h skips Christmas and the weekend to Monday 11:00",
        "2026-12-24 18:00", "urgent", "business", "4h", "2026-12-28 11:00", SW, "2026-12-28 11:00", "2026-12-24 18:00"),
    row("Christmas Day 09:00 on 24/7 4h ends 13:00 on call",
        "2026-12-25 09:00", "urgent", "24/7", "4h", "2026-12-25 13:00", OC, "2026-12-25 13:00", "2026-12-25 09:00"),
    # Easter (Sunday 04-05, Monday 04-06 is a holiday).
    row("Easter Saturday business 4h skips Easter Monday to Tuesday 12:00",
        "2026-04-04 10:00", "urgent", "business", "4h", "2026-04-07 12:00", SW, "2026-04-07 12:00", "2026-04-07 08:00"),
    row("Good Friday 18:00, a business day outside Alsace-Moselle, business 4h ends Tuesday 11:00",
        "2026-04-03 18:00", "urgent", "business", "4h", "2026-04-07 11:00", SW, "2026-04-07 11:00", "2026-04-03 18:00"),
    row("Easter Monday 10:00 on 24/7 1h ends 11:00 on call",
        "2026-04-06 10:00", "urgent", "24/7", "1h", "2026-04-06 11:00", OC, "2026-04-06 11:00", "2026-04-06 10:00"),
    # Ascension (Thursday 05-14).
    row("Wednesday before Ascension 16:00 business 4h ends Friday 09:00",
        "2026-05-13 16:00", "urgent", "business", "4h", "2026-05-15 09:00", SW, "2026-05-15 09:00", "2026-05-13 16:00"),
    row("Ascension 08:10 business 30min starts Friday 08:00 and ends 08:30",
        "2026-05-14 08:10", "urgent", "business", "30min", "2026-05-15 08:30", SW, "2026-05-15 08:30", "2026-05-15 08:00"),
    # Whit Monday (05-25): a holiday in `holidays` FR, kept closed (see config/policy.toml).
    row("Friday before Whit Monday 17:00 business 4h ends Tuesday 10:00",
        "2026-05-22 17:00", "urgent", "business", "4h", "2026-05-26 10:00", SW, "2026-05-26 10:00", "2026-05-22 17:00"),
    row("Whit Monday 10:00 on 24/7 30min ends 10:30 on call",
        "2026-05-25 10:00", "urgent", "24/7", "30min", "2026-05-25 10:30", OC, "2026-05-25 10:30", "2026-05-25 10:00"),
    # Spring forward, Sunday 2026-03-29: 02:00 CET jumps to 03:00 CEST.
    row("spring-forward night 01:30 on 24/7 1h ends 03:30 CEST one real hour later",
        "2026-03-29 01:30", "urgent", "24/7", "1h", "2026-03-29 03:30+02:00", OC, "2026-03-29 03:30+02:00", "2026-03-29 01:30"),
    row("Saturday 23:30 before spring forward on 24/7 4h ends 04:30 CEST",
        "2026-03-28 23:30", "urgent", "24/7", "4h", "2026-03-29 04:30+02:00", OC, "2026-03-29 04:30+02:00", "2026-03-28 23:30"),
    row("spring-forward night business 4h ends Monday 12:00 CEST",
        "2026-03-29 01:30", "urgent", "business", "4h", "2026-03-30 12:00", SW, "2026-03-30 12:00", "2026-03-30 08:00"),
    # Fall back, Sunday 2026-10-25: 03:00 CEST falls back to 02:00 CET.
    row("fall-back night 02:30 CEST on 24/7 1h ends 02:30 CET",
        "2026-10-25 02:30+02:00", "urgent", "24/7", "1h", "2026-10-25 02:30+01:00", OC, "2026-10-25 02:30+01:00", "2026-10-25 02:30+02:00"),
    row("fall-back night 01:30 on 24/7 4h ends 04:30 CET, three wall-clock hours later",
        "2026-10-25 01:30", "urgent", "24/7", "4h", "2026-10-25 04:30+01:00", OC, "2026-10-25 04:30+01:00", "2026-10-25 01:30"),
    row("Saturday before fall back business 1h ends Monday 09:00 CET",
        "2026-10-24 22:00", "urgent", "business", "1h", "2026-10-26 09:00", SW, "2026-10-26 09:00", "2026-10-26 08:00"),
    # New Year: Thu 2026-12-31, Fri 2027-01-01 (holiday), Sat 01-02, Mon 01-04.
    row("New Year's Eve 18:00 business 4h carries 3 hours to Monday 4 January 11:00",
        "2026-12-31 18:00", "urgent", "business", "4h", "2027-01-04 11:00", SW, "2027-01-04 11:00", "2026-12-31 18:00"),
    row("New Year's Eve 22:00 on 24/7 4h ends 02:00 on New Year's Day on call",
        "2026-12-31 22:00", "urgent", "24/7", "4h", "2027-01-01 02:00", OC, "2027-01-01 02:00", "2026-12-31 22:00"),
    row("New Year's Day 23:30 on 24/7 1h ends 00:30 Saturday on call",
        "2027-01-01 23:30", "urgent", "24/7", "1h", "2027-01-02 00:30", OC, "2027-01-02 00:30", "2027-01-01 23:30"),
    row("Saturday 2 January business 30min ends Monday 08:30",
        "2027-01-02 10:00", "urgent", "business", "30min", "2027-01-04 08:30", SW, "2027-01-04 08:30", "2027-01-04 08:00"),
    row("a routine New Year's Eve evening request gets nothing",
        "2026-12-31 18:30", "routine", "business", "30min", None, NONE, None, None),
    row("an unverified urgent New Year's Day request on 24/7 gets nothing",
        "2027-01-01 10:00", "unverified", "24/7", "1h", None, NONE, None, None),
]  # fmt: skip


def _at(text: str | None) -> datetime | None:
    """Paris wall clock (fold 0) or an explicit offset, as a UTC instant for exact comparison."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text)
    return (moment if moment.tzinfo else moment.replace(tzinfo=PARIS)).astimezone(UTC)


def _utc(moment: datetime | None) -> datetime | None:
    # Same-zone aware datetimes compare wall clocks and ignore `fold`; instants do not.
    return moment.astimezone(UTC) if moment else None


@pytest.mark.parametrize(
    "received, kind, coverage, gti, deadline, phones, phones_from, page_at", ROWS
)
def test_guidance_matches_the_policy_table(
    received, kind, coverage, gti, deadline, phones, phones_from, page_at
):
    urgent, verified = KINDS[kind]
    policy = default_policy()
    guidance = guidance_for(
        _at(received), urgent=urgent, verified=verified, coverage=coverage, gti=GTI[gti]
    )

    assert _utc(guidance.gti_deadline) == _at(deadline)
    assert tuple(line.key for line in guidance.phones) == phones
    assert _utc(guidance.phones_from) == _at(phones_from)
    assert _utc(guidance.oncall_page_at) == _at(page_at)
    assert guidance.page_now == (page_at is not None and page_at == received)
    # Every phone given is open at the moment the customer is told to call from.
    for line in guidance.phones:
        assert _utc(line.opens_at) <= _utc(guidance.phones_from) < _utc(line.closes_at)
        assert (line.fee is not None) == (line.key != "switchboard")
    assert guidance.incidents_url == policy.incidents_url
    assert guidance.portal_url == policy.portal_url
    assert guidance.received_at.tzinfo == policy.timezone


def test_a_remembered_guidance_is_the_one_worked_out_afresh():
    """guidance_for remembers its last answers: the same instant in another zone gets the
    same guidance, and another policy (a reloaded config) never gets this one's."""
    from dataclasses import replace

    from workers.escalation.guidance import _remembered

    at = datetime(2026, 3, 3, 21, 10, tzinfo=PARIS)
    args = {"urgent": True, "verified": True, "coverage": "business", "gti": GTI["4h"]}
    _remembered.cache_clear()
    fresh = guidance_for(at, **args)
    assert guidance_for(at.astimezone(UTC), **args) == fresh
    assert _remembered.cache_info().hits == 1
    other = replace(default_policy(), incidents_url="https://status.other.example/")
    assert guidance_for(at, policy=other, **args).incidents_url == "https://status.other.example/"
    _remembered.cache_clear()
    assert guidance_for(at, **args) == fresh
