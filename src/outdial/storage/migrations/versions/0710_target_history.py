"""target_history (issue 17): resets and recycle passes of targets, with who and why

Revision ID: 0710_target_history
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0710_target_history"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "target_history",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("outdial_id", sa.Uuid(), nullable=False),
        sa.Column("outdial_target_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("accesskey_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_target_history"),
    )
    op.create_index(
        "ix_target_history_target",
        "target_history",
        ["outdial_target_id", "tm_create", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_target_history_target", table_name="target_history")
    op.drop_table("target_history")
