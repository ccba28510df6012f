"""mailbox and archive edges: intake source, raw digest index, IMAP progress, replay checkpoints

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("intakes") as batch:
        batch.add_column(sa.Column("source", sa.String(length=200), nullable=True))
    op.create_index("ix_intakes_raw_sha256", "intakes", ["raw_sha256"])
    op.create_table(
        "fetch_progress",
        sa.Column("mailbox", sa.String(length=400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mailbox"),
    )
    op.create_table(
        "replay_checkpoints",
        sa.Column("archive_sha256", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("last_sha256", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("archive_sha256"),
    )


def downgrade() -> None:
    op.drop_table("replay_checkpoints")
    op.drop_table("fetch_progress")
    op.drop_index("ix_intakes_raw_sha256", table_name="intakes")
    with op.batch_alter_table("intakes") as batch:
        batch.drop_column("source")
