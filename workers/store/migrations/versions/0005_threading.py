"""threading: dedup claims (insert-or-find), links between tickets, message defects, acknowledgement kinds

Revision ID: 0005
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "dedup_claims",
        sa.Column("dedup_key", sa.String(length=64), nullable=False),
        sa.Column("intake_id", sa.String(length=32), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["intake_id"], ["intakes.id"]),
        sa.PrimaryKeyConstraint("dedup_key"),
        sa.UniqueConstraint("intake_id"),
    )
    # Every message filed so far holds its key: claim them, so copies of old mail stay duplicates.
    op.execute(
        "INSERT INTO dedup_claims (dedup_key, intake_id, claimed_at) "
        "SELECT dedup_key, intake_id, created_at FROM messages"
    )
    op.create_table(
        "ticket_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("linked_ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("intake_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"]),
        sa.ForeignKeyConstraint(["linked_ticket_id"], ["tickets.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ticket_id", "linked_ticket_id", "kind"),
    )
    op.create_index("ix_ticket_links_ticket_id", "ticket_links", ["ticket_id"])
    op.create_index("ix_ticket_links_linked_ticket_id", "ticket_links", ["linked_ticket_id"])
    # A reply looks its parents up by Message-ID among intakes and acknowledgements too.
    op.create_index("ix_intakes_message_id", "intakes", ["message_id"])
    op.create_index("ix_acks_message_id", "acks", ["message_id"])
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("defects", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("acks") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=16), nullable=False, server_default="received")
        )


def downgrade() -> None:
    with op.batch_alter_table("acks") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("defects")
    op.drop_index("ix_acks_message_id", table_name="acks")
    op.drop_index("ix_intakes_message_id", table_name="intakes")
    op.drop_index("ix_ticket_links_linked_ticket_id", table_name="ticket_links")
    op.drop_index("ix_ticket_links_ticket_id", table_name="ticket_links")
    op.drop_table("ticket_links")
    op.drop_table("dedup_claims")
