"""events (the outbox), webhook deliveries and cursors, customers' webhook settings

Revision ID: 0200_events
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0200_events"
down_revision = "0002"
branch_labels = ("events",)
depends_on = None

Serial = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", Serial, autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    op.create_index("ix_events_customer", "events", ["customer_id", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", Serial, autoincrement=True, nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("uri", sa.Text(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    op.create_index("ix_webhook_deliveries_event", "webhook_deliveries", ["event_id"])
    op.create_table(
        "webhook_cursors",
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("next_event_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_try", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("lease_owner", sa.String(length=64), server_default="", nullable=False),
        sa.Column("lease_until", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name=op.f("pk_webhook_cursors")),
    )
    with op.batch_alter_table("customers") as batch:
        batch.add_column(
            sa.Column("webhook_method", sa.String(length=8), server_default="", nullable=False)
        )
        batch.add_column(sa.Column("webhook_uri", sa.Text(), server_default="", nullable=False))
        batch.add_column(
            sa.Column("webhook_secret", sa.String(length=128), server_default="", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("webhook_secret")
        batch.drop_column("webhook_uri")
        batch.drop_column("webhook_method")
    op.drop_table("webhook_cursors")
    op.drop_index("ix_webhook_deliveries_event", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_events_customer", table_name="events")
    op.drop_table("events")
