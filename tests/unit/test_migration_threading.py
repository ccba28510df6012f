"""The threading migration on a database that already holds mail: every filed message keeps its
content key, so a late copy of old mail is still a duplicate."""

from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from workers.store.migrate import alembic_config, head_revision, upgrade


def test_messages_filed_before_the_migration_claim_their_content_key(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), "0003")
    engine = create_engine(url)
    with engine.begin() as db:
        db.execute(
            text(
                "INSERT INTO intakes (id, channel, received_at, envelope_sender, recipients, client_ip,"
                " raw, raw_sha256, message_id, dedup_key, status, attempts, updated_at)"
                " VALUES ('i1', 'smtp', '2026-01-05 10:00:00', 'a@b.fr', '[]', '', x'00', 'x',"
                " 'm1@b.fr', 'key-1', 'ticketed', 0, '2026-01-05 10:00:00')"
            )
        )
        db.execute(
            text(
                "INSERT INTO tickets (id, number, created_at, updated_at, subject, channel, requester,"
                " account_known, identity_status, authorised, auth, urgency, urgent_requested,"
                " language, category, status) VALUES (1, 100001, '2026-01-05 10:00:00',"
                " '2026-01-05 10:00:00', 's', 'smtp', 'a@b.fr', 0, 'unverified', 0, '{}',"
                " 'routine', 0, 'fr', '{}', 'open')"
            )
        )
        db.execute(
            text(
                "INSERT INTO messages (id, ticket_id, intake_id, created_at, message_id, sender,"
                " subject, text, attachments, dedup_key) VALUES (1, 1, 'i1', '2026-01-05 10:00:00',"
                " 'm1@b.fr', 'a@b.fr', 's', 't', '[]', 'key-1')"
            )
        )
    upgrade(url)
    with engine.connect() as db:
        assert (
            db.execute(text("SELECT version_num FROM alembic_version")).scalar() == head_revision()
        )
        assert db.execute(text("SELECT dedup_key, intake_id FROM dedup_claims")).all() == [
            ("key-1", "i1")
        ]
        assert db.execute(text("SELECT defects FROM messages")).scalar() == "[]"
