"""webhook partners, secrets and idempotency records

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partners",
        sa.Column("name", sa.String(length=63), nullable=False),
        sa.Column("clients", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "partner_secrets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("partner", sa.String(length=63), nullable=False),
        sa.Column("encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("hint", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["partner"], ["partners.name"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_partner_secrets_partner", "partner_secrets", ["partner"])
    op.create_table(
        "webhook_idempotency",
        sa.Column("partner", sa.String(length=63), nullable=False),
        sa.Column("key_sha256", sa.String(length=64), nullable=False),
        sa.Column("body_sha256", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("response", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partner", "key_sha256"),
    )
    op.create_index("ix_webhook_idempotency_created_at", "webhook_idempotency", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_idempotency_created_at", table_name="webhook_idempotency")
    op.drop_table("webhook_idempotency")
    op.drop_index("ix_partner_secrets_partner", table_name="partner_secrets")
    op.drop_table("partner_secrets")
    op.drop_table("partners")
