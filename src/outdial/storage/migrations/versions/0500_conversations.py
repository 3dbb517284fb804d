"""conversations (issue 12): what a call heard (amd, digits, opt-out), the campaign's opt-out
setting, and recordings

Revision ID: 0500_conversations
Revises: 0400_outplan_sip_headers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0500_conversations"
down_revision = "0400_outplan_sip_headers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigncalls") as batch:
        batch.add_column(sa.Column("amd_result", sa.String(16), nullable=False, server_default=""))
        batch.add_column(sa.Column("amd_ms", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("digits", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("opted_out", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("opt_out", sa.Text(), nullable=True))
    op.create_table(
        "recordings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("campaigncall_id", sa.Uuid(), nullable=False),
        sa.Column("reference_type", sa.String(16), nullable=False),
        sa.Column("reference_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("tm_start", sa.BigInteger(), nullable=True),
        sa.Column("tm_end", sa.BigInteger(), nullable=True),
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.Column("tm_update", sa.BigInteger(), nullable=False),
        sa.Column("tm_delete", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_recordings"),
    )
    op.create_index(
        "ix_recordings_list", "recordings", ["customer_id", "tm_create", "id"], unique=False
    )
    op.create_index("ix_recordings_campaigncall", "recordings", ["campaigncall_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_recordings_campaigncall", table_name="recordings")
    op.drop_index("ix_recordings_list", table_name="recordings")
    op.drop_table("recordings")
    with op.batch_alter_table("campaigns") as batch:
        batch.drop_column("opt_out")
    with op.batch_alter_table("campaigncalls") as batch:
        for name in ("opted_out", "digits", "amd_ms", "amd_result"):
            batch.drop_column(name)
