"""Upgrading a database that holds real data at the previous release's schema (0006) to the
newest one: every row survives and the code of this release reads it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import MetaData, create_engine, insert

from workers.store.directory import SqlDirectory
from workers.store.engine import session_factory
from workers.store.migrate import alembic_config, current_revision, head_revision, upgrade
from workers.store.partners import SqlPartners, secret_box
from workers.store.queries import ticket_detail

pytestmark = pytest.mark.integration
PREVIOUS = "0006"
AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)


def _populate(url: str, box) -> None:
    """Rows as release 0006 wrote them (its tables, read from the database itself)."""
    engine = create_engine(url)
    tables = MetaData()
    tables.reflect(engine)
    t = tables.tables
    with engine.begin() as db:
        db.execute(
            insert(t["accounts"]).values(
                client_number="20481",
                company="Armor Logistique",
                services="web",
                coverage="24x7",
                gti_minutes=60,
                updated_at=AT,
            )
        )
        db.execute(
            insert(t["contacts"]).values(
                id=1,
                client_number="20481",
                name="Jean-François Hervé",
                email="jf.herve@armor-logistique.fr",
            )
        )
        db.execute(
            insert(t["tickets"]).values(
                id=1,
                number=100001,
                created_at=AT,
                updated_at=AT,
                subject="Serveur en panne",
                channel="smtp",
                requester="jf.herve@armor-logistique.fr",
                client_number="20481",
                account_known=True,
                identity_status="verified",
                authorised=True,
                contact_name="Jean-François Hervé",
                sender_authenticated=True,
                auth={},
                urgency="urgent",
                urgent_requested=True,
                language="fr",
                category={"main": "server"},
                status="open",
            )
        )
        db.execute(
            insert(t["intakes"]).values(
                id="01a2000000000000000000000000000a",
                channel="smtp",
                received_at=AT,
                envelope_sender="jf.herve@armor-logistique.fr",
                recipients=["support@dri.example"],
                client_ip="192.0.2.7",
                raw=b"Subject: Serveur en panne\r\n\r\nbonjour\r\n",
                raw_sha256="0" * 64,
                message_id="m1@armor-logistique.fr",
                dedup_key="k1",
                decision={"urgency": {"level": "urgent"}},
                queue="tickets.urgent",
                status="ticketed",
                attempts=1,
                ticket_id=1,
                updated_at=AT,
                source="imap:support",
            )
        )
        db.execute(
            insert(t["messages"]).values(
                id=1,
                ticket_id=1,
                intake_id="01a2000000000000000000000000000a",
                created_at=AT,
                message_id="m1@armor-logistique.fr",
                sender="jf.herve@armor-logistique.fr",
                subject="Serveur en panne",
                text="Notre serveur ne répond plus.",
                attachments=[],
                dedup_key="k1",
                defects=[],
            )
        )
        db.execute(
            insert(t["acks"]).values(
                id=1,
                ticket_id=1,
                intake_id="01a2000000000000000000000000000a",
                recipient="jf.herve@armor-logistique.fr",
                status="sent",
                message_id="ack1@dri.example",
                subject="[DRI #100001] Serveur en panne",
                attempts=1,
                created_at=AT,
                sent_at=AT,
                kind="received",
            )
        )
        db.execute(insert(t["partners"]).values(name="acme", clients=["20481"], created_at=AT))
        db.execute(
            insert(t["partner_secrets"]).values(
                id=1,
                partner="acme",
                encrypted=box.encrypt(b"s3cret-of-acme"),
                hint="acme",
                created_at=AT,
            )
        )
    engine.dispose()


def test_a_database_populated_at_the_previous_schema_upgrades_and_keeps_its_data(
    database_url, tmp_path
):
    command.upgrade(alembic_config(database_url), PREVIOUS)
    box = secret_box(tmp_path / "home")
    _populate(database_url, box)

    upgrade(database_url)  # what `guichet db upgrade` (the compose `migrate` service) runs

    assert current_revision(database_url) == head_revision() != PREVIOUS
    sessions = session_factory(database_url)
    with sessions() as session:
        ticket = ticket_detail(session, 100001)
    assert ticket["urgency"] == "urgent" and ticket["contact_name"] == "Jean-François Hervé"
    assert [m["text"] for m in ticket["messages"]] == ["Notre serveur ne répond plus."]
    assert [(a["status"], a["recipient"]) for a in ticket["acknowledgements"]] == [
        ("sent", "jf.herve@armor-logistique.fr")
    ]
    account = SqlDirectory(sessions).account("20481")
    assert account.company == "Armor Logistique"
    assert [c.name for c in account.contacts] == ["Jean-François Hervé"]
    # Partner secrets decrypt with the key backed up beside the database.
    assert SqlPartners(sessions, box).find("acme").secrets == ("s3cret-of-acme",)
