"""The business calendar: business days, hours, covered-time arithmetic and phone windows."""

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ingest.config_files import ConfigError, load
from workers.escalation.calendar import (
    add_covered,
    covered,
    is_business_day,
    line_windows,
    next_covered,
    next_window_opening,
    on_call,
    support_open,
    window_at,
)
from workers.escalation.policy import default_policy, policy_from

PARIS = ZoneInfo("Europe/Paris")


def at(text: str) -> datetime:
    """Paris wall clock (fold 0) unless the text carries its own offset."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=PARIS)


def same_instant(a: datetime, b: datetime) -> bool:
    # Same-zone datetimes compare wall clocks and ignore `fold`; compare instants instead.
    return a.astimezone(UTC) == b.astimezone(UTC)


def with_calendar(**changes):
    return dataclasses.replace(default_policy(), **changes)


@pytest.mark.parametrize(
    "day, expected",
    [
        pytest.param(date(2026, 3, 3), True, id="an ordinary Tuesday is a business day"),
        pytest.param(date(2026, 3, 7), False, id="a Saturday is not a business day"),
        pytest.param(date(2026, 3, 8), False, id="a Sunday is not a business day"),
        pytest.param(date(2026, 4, 6), False, id="Easter Monday is a holiday"),
        pytest.param(date(2026, 4, 3), True, id="Good Friday is worked outside Alsace-Moselle"),
        pytest.param(date(2026, 5, 14), False, id="Ascension is a holiday"),
        pytest.param(date(2026, 5, 25), False, id="Whit Monday is kept closed"),
        pytest.param(date(2026, 7, 14), False, id="Bastille Day is a holiday"),
        pytest.param(date(2026, 12, 26), False, id="St Stephen's Day is only an Alsace holiday"),
        pytest.param(date(2027, 1, 1), False, id="New Year's Day is a holiday"),
        pytest.param(date(2026, 12, 31), True, id="New Year's Eve is a business day"),
    ],
)
def test_business_days_follow_weekdays_and_french_holidays(day, expected):
    assert is_business_day(day) is expected


def test_an_extra_closure_closes_a_weekday():
    policy = with_calendar(extra_closures=frozenset({date(2026, 12, 24)}))
    assert not is_business_day(date(2026, 12, 24), policy=policy)
    assert not support_open(at("2026-12-24 10:00"), policy=policy)
    assert on_call(at("2026-12-24 10:00"), policy=policy)


def test_an_extra_open_day_opens_a_holiday():
    policy = with_calendar(extra_open_days=frozenset({date(2026, 5, 25)}))
    assert is_business_day(date(2026, 5, 25), policy=policy)
    assert covered(at("2026-05-25 10:00"), "business", policy=policy)


def test_a_date_both_closed_and_open_is_refused():
    shipped = load("policy")
    clash = {"extra_closures": [date(2026, 1, 2)], "extra_open_days": [date(2026, 1, 2)]}
    merged = {**shipped, "calendar": {**shipped["calendar"], **clash}}
    with pytest.raises(ConfigError, match="both"):
        policy_from(merged)


@pytest.mark.parametrize(
    "moment, is_open, is_on_call",
    [
        pytest.param("2026-03-03 07:59", False, True, id="07:59 on a weekday is on call"),
        pytest.param("2026-03-03 08:00", True, False, id="08:00 on a weekday opens support"),
        pytest.param("2026-03-03 18:59", True, False, id="18:59 on a weekday is support"),
        pytest.param("2026-03-03 19:00", False, True, id="19:00 on a weekday is on call"),
        pytest.param("2026-03-07 12:00", False, True, id="a Saturday noon is on call"),
        pytest.param("2026-07-14 10:00", False, True, id="a holiday morning is on call"),
    ],
)
def test_support_and_on_call_hours_partition_the_week(moment, is_open, is_on_call):
    assert support_open(at(moment)) is is_open
    assert on_call(at(moment)) is is_on_call


def test_a_24_7_contract_is_always_covered():
    assert covered(at("2026-03-08 03:00"), "24/7")
    assert covered(at("2026-03-29 02:30+01:00"), "24/7")


def test_an_unknown_coverage_is_refused():
    with pytest.raises(ValueError, match="unknown coverage"):
        covered(at("2026-03-03 10:00"), "gold")


def test_a_naive_datetime_is_refused():
    with pytest.raises(ValueError, match="naive"):
        next_covered(datetime(2026, 3, 3, 10, 0), "business")


@pytest.mark.parametrize(
    "moment, coverage, expected",
    [
        pytest.param("2026-03-03 10:00", "business", "2026-03-03 10:00", id="covered now is now"),
        pytest.param(
            "2026-03-03 19:00", "business", "2026-03-04 08:00", id="19:00 waits for 08:00"
        ),
        pytest.param(
            "2026-03-06 20:00", "business", "2026-03-09 08:00", id="Friday night waits for Monday"
        ),
        pytest.param(
            "2026-04-04 10:00",
            "business",
            "2026-04-07 08:00",
            id="Easter weekend waits for Tuesday",
        ),
        pytest.param(
            "2026-12-31 19:30", "business", "2027-01-04 08:00", id="New Year waits for 4 January"
        ),
        pytest.param(
            "2026-03-07 10:00", "24/7", "2026-03-07 10:00", id="24/7 is covered on Saturday"
        ),
    ],
)
def test_next_covered_is_the_first_covered_moment(moment, coverage, expected):
    assert same_instant(next_covered(at(moment), coverage), at(expected))


@pytest.mark.parametrize(
    "start, hours, coverage, expected",
    [
        pytest.param(
            "2026-03-06 17:00",
            4,
            "business",
            "2026-03-09 10:00",
            id="Friday 17:00 plus 4h ends Monday 10:00",
        ),
        pytest.param(
            "2026-03-07 09:00",
            4,
            "business",
            "2026-03-09 12:00",
            id="Saturday plus 4h starts Monday and ends 12:00",
        ),
        pytest.param(
            "2026-04-30 17:00", 4, "business", "2026-05-04 10:00", id="a holiday is skipped"
        ),
        pytest.param(
            "2026-03-03 15:00",
            4,
            "business",
            "2026-03-03 19:00",
            id="a GTI that fills the day ends at 19:00",
        ),
        pytest.param(
            "2026-03-03 10:00",
            22,
            "business",
            "2026-03-05 10:00",
            id="22 business hours span two days",
        ),
        pytest.param(
            "2026-03-29 01:30",
            1,
            "24/7",
            "2026-03-29 03:30+02:00",
            id="spring forward: 1 real hour from 01:30 is 03:30",
        ),
        pytest.param(
            "2026-03-29 00:00",
            24,
            "24/7",
            "2026-03-30 01:00+02:00",
            id="spring forward: the 23-hour day",
        ),
        pytest.param(
            "2026-10-25 02:30+02:00",
            1,
            "24/7",
            "2026-10-25 02:30+01:00",
            id="fall back: 1 hour after 02:30 CEST is 02:30 CET",
        ),
        pytest.param(
            "2026-10-25 00:00",
            24,
            "24/7",
            "2026-10-25 23:00+01:00",
            id="fall back: the 25-hour day",
        ),
        pytest.param(
            "2026-03-27 18:00",
            2,
            "business",
            "2026-03-30 09:00+02:00",
            id="business hours across spring forward",
        ),
    ],
)
def test_add_covered_counts_real_time_inside_covered_hours(start, hours, coverage, expected):
    result = add_covered(at(start), timedelta(hours=hours), coverage)
    assert same_instant(result, at(expected))
    assert result.tzinfo == PARIS


def test_add_covered_with_no_duration_is_the_next_covered_moment():
    assert same_instant(
        add_covered(at("2026-03-07 10:00"), timedelta(0), "business"), at("2026-03-09 08:00")
    )


def test_switchboard_windows_are_the_two_daily_slots_of_business_days():
    windows = line_windows(
        "switchboard", at("2026-03-06 10:00"), before=timedelta(0), after=timedelta(days=3)
    )
    spans = [(w.opens_at, w.closes_at) for w in windows]
    assert spans == [
        (at("2026-03-06 08:30"), at("2026-03-06 12:30")),
        (at("2026-03-06 13:30"), at("2026-03-06 18:00")),
        (at("2026-03-09 08:30"), at("2026-03-09 12:30")),
    ]


def test_the_weekend_on_call_window_runs_from_friday_19_00_to_monday_08_00():
    window = window_at("oncall", at("2026-03-07 12:00"))
    assert window is not None
    assert (window.opens_at, window.closes_at) == (at("2026-03-06 19:00"), at("2026-03-09 08:00"))


def test_the_christmas_on_call_window_spans_the_holiday_and_the_weekend():
    window = window_at("managerial", at("2026-12-26 12:00"))
    assert window is not None
    assert (window.opens_at, window.closes_at) == (at("2026-12-24 19:00"), at("2026-12-28 08:00"))


def test_no_line_is_open_in_the_lunch_gap():
    assert window_at("switchboard", at("2026-03-03 12:30")) is None
    assert window_at("oncall", at("2026-03-03 12:30")) is None


def test_the_next_opening_after_lunch_is_the_switchboard_at_13_30():
    windows = next_window_opening(at("2026-03-03 12:45"))
    assert [w.key for w in windows] == ["switchboard"]
    assert windows[0].opens_at == at("2026-03-03 13:30")


def test_the_next_opening_after_18_00_is_both_on_call_lines_at_19_00():
    windows = next_window_opening(at("2026-03-03 18:20"))
    assert [w.key for w in windows] == ["oncall", "managerial"]
    assert {w.opens_at for w in windows} == {at("2026-03-03 19:00")}


def test_the_next_opening_at_an_opening_is_that_opening():
    windows = next_window_opening(at("2026-03-03 08:30"))
    assert [(w.key, w.opens_at) for w in windows] == [("switchboard", at("2026-03-03 08:30"))]


def test_the_next_opening_on_a_sunday_is_monday_08_30():
    windows = next_window_opening(at("2026-03-08 12:00"))
    assert [(w.key, w.opens_at) for w in windows] == [("switchboard", at("2026-03-09 08:30"))]
