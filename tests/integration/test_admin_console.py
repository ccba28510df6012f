"""The /admin console over real HTTP, on SQLite and PostgreSQL: sessions, CSRF, back-off, versions,
rollback, preview, test mails, tickets and parked messages."""

from __future__ import annotations

import re

import pytest
from starlette.routing import Mount, Route

from tests.support.console import ADMIN, ADMIN_EMAIL, PASSWORD, Console, ack_text, csrf_of, scenario
from tests.support.mail import customer_mail, send
from workers.admin.app import routes
from workers.store import audit, template_versions
from workers.store.engine import session_factory
from workers.store.schema import ParkedRow

pytestmark = pytest.mark.integration
UNVERIFIED = scenario("unverified", "routine", "inhours")
URGENT = scenario("verified", "urgent", "offhours")
PHONE = "02 90 92 05 50"
PARAMS = {"template": "ack.fr", "number": "100001", "parked_id": "1"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def console(request, tmp_path_factory, redis_server):
    from tests.support.services import SmtpSink

    home = tmp_path_factory.mktemp("console")
    if request.param == "sqlite":
        url = f"sqlite:///{home / 'guichet.sqlite3'}"
    else:
        url = request.getfixturevalue("postgres").create()
    with SmtpSink() as sink:
        running = Console(home, url, redis_server.url, sink.address).start()
        running.sink = sink
        yield running
        running.stop()


def sessions(console):
    return session_factory(console.settings.database)


def every_route(console):
    """(method, path) of every console route, path parameters filled in."""
    for route in routes(console.settings):
        if isinstance(route, Mount):
            continue
        assert isinstance(route, Route)
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAMS[m.group(1)], route.path)
        for method in sorted(route.methods - {"HEAD"}):
            yield method, "/admin" + path


def base_version(console) -> int:
    with sessions(console)() as session:
        return template_versions.latest_id(session)


def test_every_route_but_the_sign_in_page_needs_a_session(console):
    client = console.client()
    seen = 0
    for method, path in every_route(console):
        seen += 1
        response = client.request(method, path, data={"csrf": "x"})
        if path == "/admin/login":
            assert response.status_code == (200 if method == "GET" else 403), (method, path)
        elif method == "GET":
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith("/admin/login?next=")
        else:
            assert response.status_code == 401, (method, path)
    assert seen >= 17
    assert client.get("/admin/static/editor.js").status_code == 200  # code, no data


def test_every_change_needs_the_sessions_csrf_token_and_the_same_origin(console):
    client, token = console.signed_in()
    posts = [path for method, path in every_route(console) if method == "POST"]
    for path in posts:
        if path == "/admin/login":
            continue
        assert client.post(path, data={}).status_code == 403, path
        assert client.post(path, data={"csrf": "forged"}).status_code == 403, path
        foreign = {"origin": "https://elsewhere.example"}
        assert client.post(path, data={"csrf": token}, headers=foreign).status_code == 403, path
    preview = client.post("/admin/templates/ack.fr/preview", data={"scenario": "x"})
    assert preview.status_code == 403
    fine = client.post(
        "/admin/templates/ack.fr/preview", data={"scenario": "x"}, headers={"x-csrf-token": token}
    )
    assert fine.status_code == 200


def test_the_session_cookie_is_httponly_lax_and_secure_unless_on_loopback(console):
    for host, secure in (("127.0.0.1", False), ("console.dri.example", True)):
        client = console.client()
        page = client.get("/admin/login", headers={"host": host})
        token = csrf_of(page.text)  # sent back by hand: a Secure cookie never travels over http
        response = client.post(
            "/admin/login",
            data={"name": ADMIN, "password": PASSWORD, "csrf": token},
            headers={"host": host, "cookie": f"guichet_admin_login={token}"},
        )
        cookie = next(
            c for c in response.headers.get_list("set-cookie") if c.startswith("guichet_admin=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/admin" in cookie
        assert ("Secure" in cookie) is secure, host


def test_signing_out_ends_the_session_on_the_server(console):
    client, token = console.signed_in()
    cookie = client.cookies.get("guichet_admin")
    assert client.post("/admin/logout", data={"csrf": token}).status_code == 303
    stale = console.client()
    stale.cookies.set("guichet_admin", cookie, path="/admin")
    assert stale.get("/admin/templates").status_code == 303


def test_repeated_failures_make_the_account_wait_even_for_the_right_password(console):
    from workers.admin.accounts import add_admin

    add_admin(sessions(console), "dominique", PASSWORD, None, "test")
    client = console.client()

    def attempt(name, password):
        page = client.get("/admin/login")
        return client.post(
            "/admin/login", data={"name": name, "password": password, "csrf": csrf_of(page.text)}
        )

    unknown, wrong = attempt("nobody", "whatever it is"), attempt("dominique", "not the password")
    assert unknown.status_code == wrong.status_code == 401  # the same answer: no name probing
    assert "Wrong name or password" in unknown.text and "Wrong name or password" in wrong.text
    for _ in range(4):
        attempt("dominique", "not the password")
    locked = attempt("dominique", PASSWORD)
    assert locked.status_code == 429 and "try again in" in locked.text
    with sessions(console)() as session:
        actions = [a.action for a in audit.recent(session, 50, target="admin:dominique")]
    assert actions.count("signin.failed") == 5 and "signin.locked" in actions


def test_a_refused_save_stores_nothing_and_names_each_scenario_and_line(console):
    client, token = console.signed_in()
    before = base_version(console)
    page = client.get("/admin/templates/_identity.fr").text
    text = re.search(r'name="file:_identity.fr.txt.j2"[^>]*>(.*?)</textarea>', page, re.S).group(1)
    import html

    edited = html.unescape(text) + f"Appelez le {PHONE}.\n"
    response = client.post(
        "/admin/templates/_identity.fr",
        data={
            "csrf": token,
            "base": before,
            "comment": "standard",
            "file:_identity.fr.txt.j2": edited,
        },
    )
    assert response.status_code == 422
    refused = html.unescape(re.search(r'id="refused">(.*?)</div>', response.text, re.S).group(1))
    assert "unverified-" in refused and PHONE in refused
    assert re.search(r"_identity\.fr\.txt\.j2, line \d+", refused)
    assert base_version(console) == before


def _save(client, token, console, template, files, comment):
    data = {"csrf": token, "base": base_version(console), "comment": comment}
    data.update({f"file:{name}": text for name, text in files.items()})
    return client.post(f"/admin/templates/{template}", data=data)


def _live(console, name: str) -> str:
    from workers.admin.editing import TemplateDesk

    return TemplateDesk(sessions(console), console.settings.database).state().sources[name]


def test_a_save_is_a_version_with_its_author_and_comment_and_a_rollback_is_another(console):
    client, token = console.signed_in()
    name = "ack.en.txt.j2"
    original = _live(console, name)
    assert "The technical support team" in original
    changed = original.replace("The technical support team", "The support desk of the team")
    saved = _save(client, token, console, "ack.en", {name: changed}, "sign as a team")
    assert saved.status_code == 303
    version = int(saved.headers["location"].rpartition("=")[2])
    assert _live(console, name) == changed
    with sessions(console)() as session:
        row = template_versions.get(session, version)
        assert (row.author, row.comment, row.action) == (ADMIN, "sign as a team", "save")
        assert row.changes[name] == {"before": original, "after": changed}
    history = client.get("/admin/templates/ack.en/history").text
    assert "sign as a team" in history and "+The support desk of the team" in history

    stale = _save(client, token, console, "ack.en", {name: original}, "late")
    stale_base = client.post(
        "/admin/templates/ack.en",
        data={"csrf": token, "base": version - 1, "comment": "x", f"file:{name}": "other"},
    )
    assert stale.status_code == 303 and stale_base.status_code == 409  # refused: page was stale
    back = client.post(
        "/admin/templates/ack.en/rollback",
        data={"csrf": token, "base": base_version(console), "version": version + 1},
    )
    assert back.status_code == 303 and _live(console, name) == changed
    with sessions(console)() as session:
        kinds = [a.action for a in audit.recent(session, 10, target="template:ack.en")]
    assert kinds[:3] == ["template.rollback", "template.save", "template.save"]


def test_the_preview_renders_any_scenario_at_any_moment_typed_by_the_admin(console):
    client, token = console.signed_in()
    headers = {"x-csrf-token": token}

    def preview(**fields):
        return client.post("/admin/templates/ack.en/preview", data=fields, headers=headers).json()

    at_night = preview(scenario=URGENT, at="2030-11-30T03:00")
    words = " ".join(at_night["text"].split())  # the text part is reflowed to 72 columns
    assert "Saturday 30 November" in words and at_night["problems"] == []
    assert "Monday 2 December at 12:00" in words  # business hours: GTI on Monday
    assert dict(at_night["variables"])["guidance.gti_deadline"].startswith("2030-12-02 12:00")
    typed = preview(**{"scenario": UNVERIFIED, "file:ack.en.subject.j2": "No tag"})
    assert typed["subject"] == "No tag" and "must carry" in typed["problems"][0]["message"]
    unknown = preview(scenario="sideways")
    assert "valid scenarios" in unknown["problems"][0]["message"]
    assert "<b data-probe" not in at_night["html"]  # the customer's subject stays escaped


def test_send_me_a_test_renders_the_live_version_through_the_relay_to_the_admin(console):
    client, token = console.signed_in()
    before = len(console.sink.handler.messages)
    response = client.post(
        "/admin/templates/ack.fr/test",
        data={"csrf": token, "scenario": UNVERIFIED},
    )
    assert response.status_code == 303
    mail = console.sink.handler.wait_for(before + 1)[before]
    assert mail["rcpt_tos"] == [ADMIN_EMAIL] and mail["mail_from"] == "<>"
    assert b"[test]" in mail["data"] and "100042" in ack_text(mail["data"])
    with sessions(console)() as session:
        assert audit.recent(session, 1)[0].action == "template.test"


def _tickets(console, count):
    return console.stack.wait_tickets(count)


def test_tickets_are_filtered_and_found_by_number_client_number_or_sender(console):
    client, _ = console.signed_in()
    base = len(console.stack.tickets())
    assert send(console.stack.smtp_address, customer_mail(subject="Recherche vérifiée"))[0] == 250
    stranger = customer_mail(
        sender="inconnu@ailleurs.example",
        name="Inconnu",
        subject="Recherche inconnue",
        body="Bonjour, aidez-moi.\n",
    )
    assert send(console.stack.smtp_address, stranger)[0] == 250
    rows = _tickets(console, base + 2)
    number = next(t["number"] for t in rows if t["subject"] == "Recherche inconnue")

    def listed(**query):
        return client.get("/admin/tickets", params=query).text

    assert "Recherche inconnue" in listed(identity="unverified")
    assert "Recherche vérifiée" not in listed(identity="unverified")
    assert "Recherche vérifiée" in listed(q="20481", identity="verified")
    assert "Recherche inconnue" in listed(q="ailleurs.example")
    assert "Recherche vérifiée" not in listed(q=str(number))
    page = client.get(f"/admin/tickets/{number}").text
    assert "Recherche inconnue" in page and "unverified" in page and "Rules that decided" in page
    assert client.get("/admin/tickets/999999999").status_code == 404


def test_a_parked_message_is_retried_from_the_console_as_by_the_cli_and_audited(console):
    client, token = console.signed_in()
    with sessions(console).begin() as session:
        row = ParkedRow(
            actor="send_ack", queue="acks.XQ", args=[987654], reason="RuntimeError: relay down"
        )
        session.add(row)
        session.flush()
        parked_id = row.id
    assert "relay down" in client.get("/admin/parked").text
    response = client.post(f"/admin/parked/{parked_id}/retry", data={"csrf": token})
    assert response.status_code == 303
    again = client.post(f"/admin/parked/{parked_id}/retry", data={"csrf": token})
    assert again.status_code == 409 and "already replayed" in again.text
    with sessions(console)() as session:
        assert session.get(ParkedRow, parked_id).status == "replayed"
        entry = audit.recent(session, 5, target=f"parked:{parked_id}")[0]
    assert (entry.actor, entry.action) == (ADMIN, "parked.retry")
