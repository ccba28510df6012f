"""The acknowledgement context: what each scenario may know, and nothing about accounts it may not."""

from __future__ import annotations

import pytest

from workers.acks.context import build_context, thread_subject
from workers.acks.render import CompiledSet, load_sources, templates_dir
from workers.acks.scenarios import (
    SAMPLE_CONTACT,
    Spec,
    find_instant,
    make_context,
    sample_decision,
    sample_guidance,
)
from workers.escalation.policy import default_policy

POLICY = default_policy()


def context_for(name: str, language: str = "fr", coverage: str = "business", **kw) -> dict:
    spec = Spec(*_parse(name))
    at = find_instant(spec, coverage, POLICY)
    return make_context(spec, at, coverage, language, POLICY, **kw)


def _parse(name: str):
    parts = name.split("-")
    return parts[0] == "verified", parts[1], parts[2], parts[-1] == "gap"


def render(context: dict, language: str = "fr"):
    return CompiledSet(load_sources(templates_dir())).render(context, language)


def all_numbers(context: dict) -> list[str]:
    return [p["number"] for p in context["guidance"]["phones"]]


def test_the_scenario_name_says_identity_handling_and_hours():
    assert context_for("verified-urgent-offhours")["scenario"] == "verified-urgent-offhours"
    assert context_for("verified-routine-inhours")["scenario"] == "verified-routine-inhours"
    assert context_for("verified-urgent-inhours-gap")["scenario"] == "verified-urgent-inhours-gap"


def test_an_unverified_ineligible_request_is_not_told_about_eligibility():
    ctx = context_for("unverified-ineligible-inhours")
    assert ctx["scenario"] == "unverified-urgent-inhours"
    assert ctx["urgency"]["eligible"] is None


@pytest.mark.parametrize("kind", ["routine", "urgent", "ineligible"])
@pytest.mark.parametrize("hours", ["inhours", "offhours"])
def test_unknown_number_and_wrong_name_give_identical_contexts_and_acks(kind, hours):
    wrong_name = context_for(f"unverified-{kind}-{hours}", known=True)
    unknown_number = context_for(f"unverified-{kind}-{hours}", known=False)
    assert wrong_name == unknown_number
    for language in ("fr", "en"):
        assert render(wrong_name, language) == render(unknown_number, language)


def test_the_contact_name_is_given_only_when_verified():
    assert context_for("verified-routine-inhours")["contact"]["name"] == SAMPLE_CONTACT
    assert context_for("unverified-routine-inhours")["contact"]["name"] is None


def test_an_unverified_context_carries_no_account_data():
    ctx = context_for("unverified-urgent-offhours")
    assert ctx["identity"] == {
        "verified": False,
        "missing": ["client_number", "contact_name"],
        "client_number": None,
    }
    assert ctx["guidance"]["gti_deadline"] is None and ctx["guidance"]["phones"] == []


@pytest.mark.parametrize(
    "name",
    [
        "verified-routine-inhours",
        "verified-ineligible-offhours",
        "unverified-urgent-offhours",
        "unverified-routine-inhours",
    ],
)
def test_phones_are_given_only_to_verified_urgent_requests(name):
    assert context_for(name)["guidance"]["phones"] == []


def test_a_verified_urgent_request_gets_its_deadline_and_phones():
    ctx = context_for("verified-urgent-offhours")
    assert ctx["guidance"]["gti_deadline"] is not None
    assert all_numbers(ctx) and ctx["guidance"]["phones_from"] >= ctx["guidance"]["gti_deadline"]


def test_a_deadline_in_a_gap_points_to_the_next_window():
    ctx = context_for("verified-urgent-inhours-gap")
    assert ctx["guidance"]["deadline_in_gap"]
    assert ctx["guidance"]["phones_from"] > ctx["guidance"]["gti_deadline"]


def test_support_hours_come_from_the_policy():
    schedule = POLICY.schedules[POLICY.support_schedule].business_days
    hours = context_for("verified-routine-offhours")["support"]["hours"]
    assert len(hours) == len(schedule)
    assert context_for("verified-routine-offhours")["support"]["next_open"] is not None


def test_every_date_is_in_the_policy_time_zone():
    ctx = context_for("verified-urgent-offhours")
    assert ctx["request"]["received_at"].tzinfo == POLICY.timezone
    assert ctx["guidance"]["gti_deadline"].tzinfo == POLICY.timezone


def test_the_customer_subject_becomes_one_line_of_data():
    spec = Spec(True, "routine", "inhours")
    at = find_instant(spec, "business", POLICY)
    ctx = build_context(
        ticket_number=7,
        tag="[DRI #7]",
        subject="Re: [DRI #7] panne\r\nBcc: victim@example.org",
        decision=sample_decision(spec, "fr"),
        guidance=sample_guidance(spec, at, "business", POLICY),
        received_at=at.replace(tzinfo=None),
        policy=POLICY,
    )
    assert "\r" not in ctx["request"]["subject"] and "\n" not in ctx["request"]["subject"]
    assert ctx["request"]["thread_subject"] == "panne Bcc: victim@example.org"
    assert ctx["request"]["received_at"] == at


def test_reply_prefixes_and_our_tag_are_dropped_from_the_thread_subject():
    assert thread_subject("RE: TR: Fwd: [DRI #9] site en panne", "[DRI #9]") == "site en panne"
    assert thread_subject("site en panne", "[DRI #9]") == "site en panne"
