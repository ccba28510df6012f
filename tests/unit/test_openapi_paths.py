"""`/openapi.json` describes every route the webhook app answers, with its method."""

from __future__ import annotations

import re
from types import SimpleNamespace

from ingest.edges.webhook.app import create_app
from ingest.edges.webhook.openapi import document, html_page

SELF_DESCRIBING = {"/openapi.json", "/docs"}


def served_routes() -> set[tuple[str, str]]:
    app = create_app(SimpleNamespace(partners=None))  # the route table only; nothing is called
    found = set()
    for route in app.routes:
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
        if path in SELF_DESCRIBING:
            continue
        found |= {(method.lower(), path) for method in route.methods - {"HEAD"}}
    return found


def test_every_served_route_is_in_the_openapi_document():
    described = {(m, p) for p, ops in document()["paths"].items() for m in ops}
    assert served_routes() <= described, served_routes() - described


def test_the_partner_less_request_routes_are_described_with_the_partner_header():
    paths = document()["paths"]
    post = paths["/v1/requests"]["post"]
    get = paths["/v1/requests/{intake_id}"]["get"]
    for operation in (post, get):
        names = [p["name"] for p in operation["parameters"]]
        assert "webhook-partner" in names and "partner" not in names
    assert post["responses"]["202"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/Accepted"
    )
    assert "POST /v1/requests" in html_page() and "GET /v1/requests/{intake_id}" in html_page()
