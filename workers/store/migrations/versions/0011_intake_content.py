"""intake content: the request as the edge read it, stored beside its raw bytes, so the worker
files it without parsing the raw again (NULL for older rows and unreadable requests: the
worker parses those as before)

Revision ID: 0011
Revises: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("intakes", sa.Column("content", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("intakes") as batch:  # SQLite: the table is copied without it
        batch.drop_column("content")
