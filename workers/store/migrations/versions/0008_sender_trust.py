"""sender trust: on the ticket (what its opening request's sender was shown to be) and on the page

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets") as batch:
        batch.add_column(sa.Column("sender_trust", sa.String(length=16), nullable=True))
    with op.batch_alter_table("pages") as batch:
        batch.add_column(sa.Column("sender_trust", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pages") as batch:
        batch.drop_column("sender_trust")
    with op.batch_alter_table("tickets") as batch:
        batch.drop_column("sender_trust")
