"""`guichet templates check` refuses every edit that would send a wrong acknowledgement."""

from __future__ import annotations

import shutil

import pytest

from workers.acks.check import (
    check_templates,
    list_templates,
    preview,
    preview_parts,
    scenario_names,
)
from workers.acks.render import templates_dir
from workers.escalation.policy import default_policy

POLICY = default_policy()


@pytest.fixture
def tmp_templates(tmp_path):
    target = tmp_path / "templates"
    shutil.copytree(templates_dir(), target)
    return target


def edit(directory, name: str, old: str, new: str) -> None:
    path = directory / name
    text = path.read_text("utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new), "utf-8")


def messages(directory) -> list[str]:
    return [str(p) for p in check_templates(directory)]


def test_the_shipped_templates_pass_the_check():
    assert check_templates() == []


def test_a_syntax_error_is_refused_with_its_file_and_line(tmp_templates):
    edit(tmp_templates, "_routine.fr.txt.j2", "{% endif %}", "{% endfi %}")
    problems = check_templates(tmp_templates)
    assert problems and problems[0].file == "_routine.fr.txt.j2"
    assert "line" in problems[0].message


def test_an_undefined_variable_is_refused_with_file_and_scenario(tmp_templates):
    edit(
        tmp_templates,
        "_urgent.en.txt.j2",
        "{{ guidance.gti_deadline|datetime }}",
        "{{ guidance.deadline }}",
    )
    problems = check_templates(tmp_templates)
    assert problems and problems[0].file.startswith("_urgent.en.txt.j2")
    assert "verified-urgent" in problems[0].scenario and "deadline" in problems[0].message


def test_a_missing_ticket_number_is_refused(tmp_templates):
    for name in ("_opening.fr.txt.j2", "_guidance.fr.txt.j2"):
        edit(tmp_templates, name, "{{ ticket.number }}", "")
    edit(tmp_templates, "ack.fr.txt.j2", "{{ ticket.tag }} dans", "le numéro dans")
    assert any("ack.fr.txt.j2" in m and "ticket number" in m for m in messages(tmp_templates))


def test_a_missing_guidance_block_is_refused(tmp_templates):
    edit(tmp_templates, "ack.en.html.j2", '{% include "_guidance.en.html.j2" %}', "")
    assert any("ack.en.html.j2" in m and "guidance block" in m for m in messages(tmp_templates))


def test_a_missing_incidents_link_is_refused(tmp_templates):
    edit(tmp_templates, "ack.fr.txt.j2", "{{ links.incidents_url }}", "")
    assert any("links.incidents_url" in m for m in messages(tmp_templates))


def test_a_subject_without_the_tag_is_refused(tmp_templates):
    edit(tmp_templates, "ack.en.subject.j2", "{{ ticket.tag }} ", "")
    assert any("ack.en.subject.j2" in m and "ticket.tag" in m for m in messages(tmp_templates))


def test_a_phone_number_in_a_routine_ack_is_refused(tmp_templates):
    edit(
        tmp_templates, "_routine.fr.txt.j2", "dans l'ordre d'arrivée.", "appelez le 01 23 45 67 89."
    )
    found = [m for m in messages(tmp_templates) if "must not appear" in m]
    assert found and all("routine" in m or "ineligible" in m for m in found)


def test_a_policy_phone_written_by_hand_is_refused(tmp_templates):
    number = POLICY.lines[0].number
    edit(tmp_templates, "_identity.en.txt.j2", "Please reply", f"Call {number}. Please reply")
    assert any("by hand" in m and "_identity.en.txt.j2" in m for m in messages(tmp_templates))


def test_unescaped_customer_text_in_html_is_refused(tmp_templates):
    edit(
        tmp_templates,
        "_opening.fr.html.j2",
        "« {{ subject }} »{% if request.reference %}",
        "« {{ request.subject|safe }} »{% if request.reference %}",
    )
    assert any("not escaped" in m for m in messages(tmp_templates))


def test_an_urgent_ack_without_its_deadline_is_refused(tmp_templates):
    edit(tmp_templates, "_urgent.en.html.j2", "{{ guidance.gti_deadline|datetime }}", "soon")
    assert any("GTI deadline" in m and "_urgent" not in m for m in messages(tmp_templates))


def test_a_missing_language_file_is_refused(tmp_templates):
    (tmp_templates / "ack.fr.subject.j2").unlink()
    assert any("ack.fr.subject.j2" in m and "missing" in m for m in messages(tmp_templates))


def test_broken_date_names_are_refused(tmp_templates):
    edit(tmp_templates, "_dates.toml", '"dimanche"]', "]")
    assert any("_dates.toml" in m and "7 weekdays" in m for m in messages(tmp_templates))


def test_the_sandbox_refuses_unsafe_attribute_access(tmp_templates):
    edit(tmp_templates, "ack.en.txt.j2", "technical support", "{{ ticket.__class__.__mro__ }}")
    assert any("ack.en.txt.j2" in m for m in messages(tmp_templates))


def test_preview_renders_a_scenario_at_a_given_moment():
    out = preview_parts("ack.fr", "verified-urgent-offhours", at="2026-11-27T21:00")
    assert "vendredi 27 novembre à 21:00 (heure de Paris)" in " ".join(out["txt"].split())
    assert set(out) == {"subject", "txt", "html"}
    assert "==== html ====" in preview("en", "unverified-routine-inhours")


def test_preview_of_one_file_renders_only_that_part():
    assert set(preview_parts("ack.en.subject", "verified-routine-inhours")) == {"subject"}


def test_an_unknown_scenario_lists_the_valid_ones():
    with pytest.raises(ValueError, match="verified-urgent-offhours"):
        preview_parts("fr", "verified-panic-now")


def test_the_scenario_list_covers_the_matrix_and_the_gaps():
    names = scenario_names()
    assert len(names) == 2 * 3 * 2 + 2 + 2 * 2 and "verified-urgent-inhours-gap" in names
    assert "minimal-urgent-offhours" in names


def test_the_template_list_puts_acknowledgements_first():
    files = list_templates()
    assert [f.name for f in files[:6]] == sorted(f.name for f in files if f.part)
    assert "acknowledgement" in str(files[0])
