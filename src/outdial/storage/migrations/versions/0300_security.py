"""security: webhook secret rotation, allowed calling codes, target counts, uploaded media

Revision ID: 0300_security
Revises: 0200_events
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0300_security"
down_revision = "0200_events"
branch_labels = ("security",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column(
                "webhook_secret_old", sa.String(length=128), server_default="", nullable=False
            )
        )
        batch.add_column(
            sa.Column(
                "webhook_secret_old_until", sa.BigInteger(), server_default="0", nullable=False
            )
        )
        batch.add_column(
            sa.Column("allowed_calling_codes", sa.Text(), server_default="[]", nullable=False)
        )
        batch.add_column(
            sa.Column("target_count", sa.BigInteger(), server_default="0", nullable=False)
        )
    # The targets each customer holds today (not deleted, in outdials not deleted).
    op.execute(
        """
        UPDATE customers SET target_count = (
            SELECT count(*) FROM outdial_targets t JOIN outdials o ON o.id = t.outdial_id
            WHERE o.customer_id = customers.id AND t.tm_delete IS NULL AND o.tm_delete IS NULL
        )
        """
    )
    op.create_table(
        "media",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=False),
        sa.Column("channels", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.Column("tm_update", sa.BigInteger(), nullable=False),
        sa.Column("tm_delete", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_media")),
    )
    op.create_index("ix_media_list", "media", ["customer_id", "tm_create", "id"])


def downgrade() -> None:
    op.drop_index("ix_media_list", table_name="media")
    op.drop_table("media")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("target_count")
        batch.drop_column("allowed_calling_codes")
        batch.drop_column("webhook_secret_old_until")
        batch.drop_column("webhook_secret_old")
