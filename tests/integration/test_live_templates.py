"""The live template set follows the versions saved in the database, in every process, cheaply."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from workers.acks.live import TemplateSet
from workers.acks.render import load_sources, templates_dir
from workers.acks.scenarios import parse_scenario, preview_context
from workers.admin.editing import TemplateDesk
from workers.store.engine import engine_for, session_factory
from workers.store.migrate import upgrade
from workers.store.schema_admin import TemplateVersionRow

pytestmark = pytest.mark.integration
TXT = "ack.fr.txt.j2"
OLD, NEW = "Nos services et serveurs", "Nos serveurs et services"


@pytest.fixture
def database(database_url):
    upgrade(database_url)
    return database_url


def rendered_text(live: TemplateSet) -> str:
    context = preview_context(parse_scenario("verified-routine-inhours"), "fr")
    return live.render(context, "fr").text


def save_new_wording(database: str) -> int:
    desk = TemplateDesk(session_factory(database), database)
    edited = load_sources(templates_dir())[TXT].replace(OLD, NEW)
    outcome = desk.save("ack.fr", {TXT: edited}, "new wording", "camille", desk.state().version)
    assert outcome.stored, outcome
    return outcome.version.id


class Statements:
    """Counts the SQL statements a block sends to one engine."""

    def __init__(self, url: str):
        self.engine, self.count = engine_for(url), 0

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._seen)

    def _seen(self, *args):
        self.count += 1


def test_a_version_saved_elsewhere_is_live_at_the_next_look(database):
    patient = TemplateSet(database=database, interval=3600)
    eager = TemplateSet(database=database, interval=0)
    assert OLD in rendered_text(patient) and OLD in rendered_text(eager)
    version = save_new_wording(database)
    assert NEW in rendered_text(eager) and eager.version == version
    assert OLD in rendered_text(patient)  # it looks again only when its interval is over
    patient.refresh()
    assert NEW in rendered_text(patient)


def test_between_looks_rendering_costs_no_database_work(database):
    live = TemplateSet(database=database, interval=3600)
    with Statements(database) as seen:
        for _ in range(50):
            rendered_text(live)
    assert seen.count == 0
    eager = TemplateSet(database=database, interval=0)
    with Statements(database) as seen:
        for _ in range(50):
            rendered_text(eager)
    assert seen.count == 50  # one max(id) per look while nothing changed, never the sources


def test_a_stored_version_that_fails_with_this_releases_files_is_refused_and_logged(
    database, caplog
):
    version = save_new_wording(database)
    live = TemplateSet(database=database, interval=0)
    assert live.version == version
    with session_factory(database).begin() as session:
        broken = dict(session.get(TemplateVersionRow, version).overrides)
        broken[TXT] = broken[TXT].replace(
            "{{ links.incidents_url }}", "{{ links.incidents_adresse }}"
        )
        session.add(TemplateVersionRow(parent=version, author="x", action="save", template="ack.fr",
                                       comment="", overrides=broken, changes={}))  # fmt: skip
    assert NEW in rendered_text(live)  # the running process keeps its last good set
    assert live.refused and live.refused[0] == version + 1
    assert "templates.refused" in caplog.text or "refused" in caplog.text
    starting = TemplateSet(database=database, interval=0)  # a new process: the shipped files
    assert OLD in rendered_text(starting) and starting.version == 0
