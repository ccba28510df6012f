"""The console's small parts: the overlay of saved files, diffs, back-off, problem locations, page language."""

from __future__ import annotations

from datetime import timedelta

from workers.acks.check import Problem
from workers.acks.overlay import changes, describe, orphans, overlay, propose, templates
from workers.acks.render import load_sources, templates_dir
from workers.admin.accounts import wait_after
from workers.admin.diffs import diff_lines
from workers.admin.pages import catalogue, environment
from workers.admin.problems import shown

SHIPPED = {"ack.fr.txt.j2": "a", "ack.fr.html.j2": "b", "_macros.j2": "m", "_dates.toml": "d"}


def test_every_shipped_file_belongs_to_one_template_with_its_parts_in_reading_order():
    groups = templates(load_sources(templates_dir()))
    assert [f.part for f in groups["ack.fr"]] == ["subject", "txt", "html"]
    assert [f.part for f in groups["_identity.en"]] == ["txt", "html"]
    assert describe("_dates.toml").part == "data" and describe("_macros.j2").language is None
    assert list(groups)[:2] == ["ack.en", "ack.fr"]  # the acknowledgements first
    assert sum(len(files) for files in groups.values()) == len(load_sources(templates_dir()))


def test_a_saved_file_replaces_its_default_and_one_edited_back_stops_being_an_override():
    after = propose(SHIPPED, {}, {"ack.fr.txt.j2": "A"})
    assert after == {"ack.fr.txt.j2": "A"}
    assert overlay(SHIPPED, after)["ack.fr.txt.j2"] == "A"
    assert propose(SHIPPED, after, {"ack.fr.txt.j2": "a"}) == {}
    assert changes(SHIPPED, overlay(SHIPPED, after)) == {
        "ack.fr.txt.j2": {"before": "a", "after": "A"}
    }


def test_a_saved_file_that_a_release_removed_is_reported_and_unused():
    assert orphans(SHIPPED, {"_old.fr.txt.j2": "x"}) == ["_old.fr.txt.j2"]
    assert "_old.fr.txt.j2" not in overlay(SHIPPED, {"_old.fr.txt.j2": "x"})


def test_a_diff_marks_removed_and_added_lines():
    lines = diff_lines("one\ntwo\nthree\n", "one\n2\nthree\n")
    assert ("del", "-two") in lines and ("add", "+2") in lines
    assert not any(line.startswith(("---", "+++")) for _, line in lines)


def test_failures_cost_nothing_at_first_then_a_doubling_wait_up_to_an_hour():
    assert [wait_after(n) for n in (1, 4)] == [timedelta(0), timedelta(0)]
    assert [wait_after(n).total_seconds() for n in (5, 6, 7)] == [30, 60, 120]
    assert wait_after(40) == timedelta(hours=1)


def test_a_problem_found_in_the_rendered_mail_points_at_the_line_that_wrote_it():
    problem = Problem("ack.fr.txt.j2", "unverified-routine-inhours, fr, coverage business",
                      "phone number 02 90 92 05 50 must not appear here")  # fmt: skip
    files = {"_identity.fr.txt.j2": "Bonjour\nAppelez le 02.90.92.05.50 !\n"}
    assert shown(problem, files)["file"] == "_identity.fr.txt.j2"
    assert shown(problem, files)["line"] == 2
    compiled = Problem("_urgent.fr.txt.j2 line 7", "verified-urgent-offhours", "undefined")
    assert shown(compiled, {})["line"] == 7 and shown(compiled, {})["file"] == "_urgent.fr.txt.j2"


def test_every_message_of_the_interface_exists_in_french_and_english():
    assert all(set(entry) == {"fr", "en"} for entry in catalogue().values())


def test_console_pages_escape_what_they_show():
    values = dict(lang="en", admin=None, csrf="", root="/admin", here="/admin/x", when=str)
    page = (
        environment()
        .get_template("message.html.j2")
        .render(
            t=lambda key, **fields: key,
            title_key="not_found",
            text="<script>alert(1)</script>",
            **values,
        )
    )
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)" in page
