"""directory version: a number bumped by every directory import, so each process can keep the
directory in memory and reload it only when it changed (workers.store.directory_snapshot)

Revision ID: 0010
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0008"  # 0007 in the brief; follows sender trust (0008) now on main
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "directory_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "version": 1}])


def downgrade() -> None:
    op.drop_table("directory_version")
