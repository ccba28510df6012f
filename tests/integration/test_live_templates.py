"""The live template set follows the versions saved in the database, in every process, cheaply."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from tests.support.stack import stack_settings
from workers.acks import live as live_module
from workers.acks.live import TemplateSet
from workers.acks.render import load_sources, templates_dir
from workers.acks.scenarios import parse_scenario, preview_context, scenario_cases
from workers.admin.editing import TemplateDesk
from workers.running import worker_process
from workers.running.runtime import Runtime, set_runtime
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


def test_the_set_that_goes_live_is_the_one_its_check_compiled(database, monkeypatch):
    """Its check compiled every template and rendered every scenario with it: live, that very
    set answers, so the first acknowledgement of each kind (an urgent one's templates too)
    compiles nothing more (it used to compile the set again, a template at a time)."""
    live = TemplateSet(database=database, interval=3600)
    compiled = live.current()
    loaded = set(compiled.env.cache.keys()) if compiled.env.cache is not None else set()
    assert loaded, "the check rendered no template with the set that went live"
    compiles = []
    real = compiled.env.compile

    def compile_counted(source, *args, **kwargs):
        compiles.append(args[0] if args else kwargs.get("name"))
        return real(source, *args, **kwargs)

    monkeypatch.setattr(compiled.env, "compile", compile_counted)
    cases = scenario_cases(("fr", "en"))
    for case in cases:
        live.render(case.context, case.language)
    assert len(cases) > 20 and compiles == []


def test_a_worker_process_loads_the_live_set_before_its_first_request(
    tmp_path, database, redis_url, monkeypatch
):
    monkeypatch.setattr(live_module, "_sets", {})
    set_runtime(Runtime(stack_settings(tmp_path / "home", database, redis_url, "127.0.0.1:1")))
    try:
        worker_process._warm_up()
        [loaded] = live_module._sets.values()
        assert live_module.default_set() is loaded  # the first acknowledgement finds it ready
        assert loaded.current().env.cache  # compiled and rendered by its check
    finally:
        set_runtime(None)
