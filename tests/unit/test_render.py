"""Rendering acknowledgements: every scenario, customer text as data, hot reload with last-good."""

from __future__ import annotations

import logging
import os
import shutil
import unicodedata
from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workers.acks.live import TemplateSet
from workers.acks.render import (
    SUBJECT_MAX,
    CompiledSet,
    TemplateSetError,
    clean_subject,
    format_moment,
    load_sources,
    templates_dir,
)
from workers.acks.scenarios import Spec, find_instant, make_context, scenario_cases
from workers.acks.wrapping import _flush, _reflowed, wrap_text
from workers.escalation.policy import default_policy

POLICY = default_policy()
SHIPPED = CompiledSet(load_sources(templates_dir()))


def context(name: str, language: str = "fr", coverage: str = "business", **kw) -> dict:
    parts = name.split("-")
    spec = Spec(parts[0] == "verified", parts[1], parts[2], parts[-1] == "gap")
    return make_context(
        spec, find_instant(spec, coverage, POLICY), coverage, language, POLICY, **kw
    )


def flat(text: str) -> str:
    """The text part is wrapped at 72 columns: compare phrases with line breaks as spaces."""
    return " ".join(text.split())


def with_subject(ctx: dict, subject: str) -> dict:
    request = {**ctx["request"], "subject": subject, "thread_subject": subject}
    return {**ctx, "request": request}


@pytest.fixture
def tmp_templates(tmp_path):
    target = tmp_path / "templates"
    shutil.copytree(templates_dir(), target)
    return target


def edit(path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")
    stat = path.stat()  # a distinct mtime even on coarse-grained file systems
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))


@pytest.mark.parametrize("case", scenario_cases(["fr", "en"]), ids=lambda c: c.label)
def test_every_scenario_renders_in_both_languages(case):
    ack = SHIPPED.render(case.context, case.language)
    number = case.context["ticket"]["number"]
    assert ack.subject.startswith(case.context["ticket"]["tag"])
    assert number in ack.text and number in ack.html
    assert POLICY.incidents_url in ack.text and POLICY.incidents_url in ack.html


def test_a_template_expression_in_the_customer_subject_stays_literal():
    ack = SHIPPED.render(with_subject(context("verified-routine-inhours"), "{{ 7*7 }}"), "fr")
    assert "{{ 7*7 }}" in ack.subject and "{{ 7*7 }}" in ack.text
    assert "49" not in ack.subject


def test_crlf_in_a_subject_is_removed():
    ctx = with_subject(context("verified-routine-inhours"), "panne\r\nBcc: victim@example.org")
    ack = SHIPPED.render(ctx, "en")
    assert "\r" not in ack.subject and "\n" not in ack.subject
    assert ack.subject.endswith("panne Bcc: victim@example.org")


def test_a_subject_loses_control_characters_and_is_capped():
    assert clean_subject("  a\x00b\tc\u2028d\u202ee  ") == "a b c de"
    long = clean_subject("x" * 1000)
    assert len(long) == SUBJECT_MAX and long.endswith("…")


def test_customer_text_is_escaped_in_html_only():
    ctx = with_subject(context("verified-routine-inhours"), "<script>alert(1)</script>")
    ack = SHIPPED.render(ctx, "fr")
    assert "<script>" not in ack.html and "&lt;script&gt;" in ack.html
    assert "<script>alert(1)</script>" in ack.text


def test_dates_are_written_for_the_language():
    tables = SHIPPED.env.globals["date_tables"]
    moment = datetime(2026, 11, 30, 10, 0, tzinfo=POLICY.timezone)
    fr, en = tables["fr"], tables["en"]
    assert format_moment(moment, "datetime", fr) == "lundi 30 novembre à 10:00 (heure de Paris)"
    assert format_moment(moment, "datetime", en) == "Monday 30 November at 10:00 (Paris time)"
    first = moment.replace(day=1, month=12)
    assert format_moment(first, "date", tables["fr"]) == "mardi 1er décembre 2026"


def test_an_urgent_off_hours_ack_says_when_work_starts_and_lists_the_lines():
    ctx = context("verified-urgent-offhours")
    ack = SHIPPED.render(ctx, "fr")
    page_at = format_moment(
        ctx["guidance"]["oncall_page_at"], "datetime", SHIPPED.env.globals["date_tables"]["fr"]
    )
    assert page_at in flat(ack.text)
    for phone in ctx["guidance"]["phones"]:
        assert phone["number"] in ack.text and phone["number"] in ack.html


def test_a_deadline_in_a_gap_says_when_the_line_opens():
    ctx = context("verified-urgent-inhours-gap", "en")
    ack = SHIPPED.render(ctx, "en")
    opens = format_moment(
        ctx["guidance"]["phones_from"], "datetime", SHIPPED.env.globals["date_tables"]["en"]
    )
    assert opens in flat(ack.text) and "no line is open at the deadline" in flat(ack.text)


@pytest.mark.parametrize(
    "name",
    ["verified-routine-offhours", "unverified-urgent-inhours", "verified-ineligible-inhours"],
)
@pytest.mark.parametrize("language", ["fr", "en"])
def test_phones_never_appear_in_routine_or_unverified_acks(name, language):
    ack = SHIPPED.render(context(name, language), language)
    for line in POLICY.lines:
        assert line.number not in ack.text and line.number not in ack.html


def test_an_ineligible_urgent_request_is_told_why_it_is_handled_as_routine():
    fr = flat(SHIPPED.render(context("verified-ineligible-inhours"), "fr").text)
    en = flat(SHIPPED.render(context("verified-ineligible-inhours", "en"), "en").text)
    assert "réservé aux serveurs et services dédiés" in fr and "demande courante" in fr
    assert "only for dedicated servers" in en and "as a routine one" in en


def test_an_unverified_ack_asks_for_both_items_and_authorises_nothing():
    text = flat(SHIPPED.render(context("unverified-routine-inhours"), "fr").text)
    assert "numéro de client (5 chiffres" in text
    assert f"{POLICY.portal_name} (anciennement {POLICY.portal_former_name})" in text
    assert "Aucune intervention technique" in text


def test_a_missing_language_falls_back_to_english():
    ack = SHIPPED.render(context("verified-routine-inhours", "de"), "de")
    assert ack.text.startswith("Hello")


def test_a_broken_edit_is_refused_and_the_previous_version_stays_live(tmp_templates, caplog):
    live = TemplateSet(tmp_templates, interval=0)
    before = live.render(context("verified-routine-inhours"), "fr")
    edit(tmp_templates / "ack.fr.txt.j2", "Le support technique", "{% if %}")
    with caplog.at_level(logging.ERROR, logger="guichet.templates"):
        after = live.render(context("verified-routine-inhours"), "fr")
    assert after == before
    refused = [r for r in caplog.records if getattr(r, "event", "") == "templates.refused"]
    assert refused and "ack.fr.txt.j2" in refused[0].problems[0]


def test_a_good_edit_goes_live_without_a_restart(tmp_templates):
    live = TemplateSet(tmp_templates, interval=0)
    edit(tmp_templates / "ack.fr.txt.j2", "Le support technique", "L'équipe du support")
    assert "L'équipe du support" in live.render(context("verified-routine-inhours"), "fr").text


def test_edits_are_looked_for_at_most_every_interval(tmp_templates):
    live = TemplateSet(tmp_templates, interval=3600)
    edit(tmp_templates / "ack.fr.txt.j2", "Le support technique", "L'équipe du support")
    assert "Le support technique" in live.render(context("verified-routine-inhours"), "fr").text


def test_a_broken_set_at_start_is_refused_with_its_problems(tmp_templates):
    (tmp_templates / "ack.en.html.j2").unlink()
    with pytest.raises(TemplateSetError) as err:
        TemplateSet(tmp_templates)
    assert any("ack.en.html.j2" in str(p) for p in err.value.problems)


def test_the_templates_directory_can_be_overridden(monkeypatch, tmp_path):
    monkeypatch.setenv("GUICHET_TEMPLATES_DIR", str(tmp_path))
    assert templates_dir() == tmp_path


def _subject_reference(text: str) -> str:
    """clean_subject as specified, a character at a time (no shortcut for printable text)."""
    kept = ""
    for char in text:
        kind = unicodedata.category(char)
        kept += " " if kind in ("Cc", "Zl", "Zp") else "" if kind == "Cf" else char
    line = " ".join(kept.split())
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1].rstrip() + "…"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_a_subject_is_cleaned_the_same_whether_printable_or_not(text):
    assert clean_subject(text) == _subject_reference(text)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(st.sampled_from("ab é«»:;?!-•*1234567890€+[]#.\t"), max_size=120), max_size=8
    ).map("\n".join)
)
def test_a_paragraph_reflowed_from_memory_is_what_a_fresh_reflow_gives(text):
    """The acknowledgements' paragraphs are reflowed once and remembered (`_reflowed`): a
    remembered result is the one a reflow of the same text gives, and stays so when a
    caller changes the list it got."""
    first = wrap_text(text)
    again = wrap_text(text)  # from memory
    _reflowed.cache_clear()
    assert wrap_text(text) == first == again
    lines = text.split("\n")
    got = _flush(lines, "", 72)
    got.append("changed by the caller")
    assert _flush(lines, "", 72) == got[:-1]
