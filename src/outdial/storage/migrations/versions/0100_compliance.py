"""compliance: calling windows, per-number limits, do-not-call lists, dial skips (issue 6)

Revision ID: 0100_compliance
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0100_compliance"
down_revision = "0002"
branch_labels = ("compliance",)
depends_on = None


def _times() -> list[sa.Column[int]]:
    return [
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.Column("tm_update", sa.BigInteger(), nullable=False),
        sa.Column("tm_delete", sa.BigInteger(), nullable=True),
    ]


def upgrade() -> None:
    with op.batch_alter_table("outplans") as batch:
        batch.add_column(sa.Column("call_window", sa.Text(), nullable=True))
        batch.add_column(
            sa.Column(
                "max_attempts_per_number_24h", sa.Integer(), nullable=False, server_default="0"
            )
        )
        batch.add_column(
            sa.Column("min_number_gap", sa.BigInteger(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("outdial_targets") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("not_before", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("campaigncalls") as batch:
        batch.add_column(sa.Column("destination_number", sa.String(length=32), nullable=True))
    op.create_index(
        "ix_campaigncalls_number",
        "campaigncalls",
        ["customer_id", "destination_number", "tm_create"],
    )
    op.create_table(
        "dnclists",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnclists")),
    )
    op.create_index("ix_dnclists_list", "dnclists", ["customer_id", "tm_create", "id"])
    op.create_table(
        "dnc_entries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("dnclist_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("expire", sa.BigInteger(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        *_times(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dnc_entries")),
    )
    op.create_index("ix_dnc_entries_number", "dnc_entries", ["customer_id", "number"])
    op.create_index("ix_dnc_entries_list", "dnc_entries", ["dnclist_id", "tm_create", "id"])
    op.create_table(
        "dial_skips",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("outdial_target_id", sa.Uuid(), nullable=False),
        sa.Column("destination_index", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("clears_at", sa.BigInteger(), nullable=True),
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dial_skips")),
    )
    op.create_index("ix_dial_skips_campaign", "dial_skips", ["campaign_id", "tm_create", "id"])


def downgrade() -> None:
    op.drop_table("dial_skips")
    op.drop_table("dnc_entries")
    op.drop_table("dnclists")
    op.drop_index("ix_campaigncalls_number", table_name="campaigncalls")
    with op.batch_alter_table("campaigncalls") as batch:
        batch.drop_column("destination_number")
    with op.batch_alter_table("outdial_targets") as batch:
        batch.drop_column("not_before")
        batch.drop_column("timezone")
    with op.batch_alter_table("outplans") as batch:
        batch.drop_column("min_number_gap")
        batch.drop_column("max_attempts_per_number_24h")
        batch.drop_column("call_window")
