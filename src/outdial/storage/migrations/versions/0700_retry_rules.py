"""Retry rules, priorities and order, rescheduling (issue 17).

outplans: `retry_rules` (JSON list, "[]": none) and `dial_order` (the wire's `order`).
outdial_targets: `priority` (0-9), `retry_at` (when the next try is due, set at the end of an
attempt by a retry rule or by `PUT .../schedule`; NULL: `try_interval` after the last attempt
as before), `retry_note` (why, for the eligibility endpoint) and `start_destination` (the
destination the next attempt starts with, set by `PUT .../schedule`). Two more partial
indexes keep the claim one range scan under `order` = `fifo` and `priority`.

Revision ID: 0700_retry_rules
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0700_retry_rules"
down_revision = "0002"
branch_labels = None
depends_on = None

_IDLE = "status = 'idle' AND tm_delete IS NULL"


def upgrade() -> None:
    with op.batch_alter_table("outplans") as batch:
        batch.add_column(sa.Column("retry_rules", sa.Text, nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column(
                "dial_order",
                sa.String(32),
                nullable=False,
                server_default="oldest_attempt_first",
            )
        )
    with op.batch_alter_table("outdial_targets") as batch:
        batch.add_column(sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"))
        batch.add_column(sa.Column("retry_at", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("retry_note", sa.String(255), nullable=True))
        batch.add_column(sa.Column("start_destination", sa.SmallInteger, nullable=True))
    op.create_index(
        "ix_outdial_targets_idle_fifo",
        "outdial_targets",
        ["outdial_id", "tm_create", "id"],
        postgresql_where=sa.text(_IDLE),
        sqlite_where=sa.text(_IDLE),
    )
    op.create_index(
        "ix_outdial_targets_idle_priority",
        "outdial_targets",
        ["outdial_id", sa.text("priority DESC"), "tm_update", "id"],
        postgresql_where=sa.text(_IDLE),
        sqlite_where=sa.text(_IDLE),
    )


def downgrade() -> None:
    op.drop_index("ix_outdial_targets_idle_priority", table_name="outdial_targets")
    op.drop_index("ix_outdial_targets_idle_fifo", table_name="outdial_targets")
    with op.batch_alter_table("outdial_targets") as batch:
        batch.drop_column("start_destination")
        batch.drop_column("retry_note")
        batch.drop_column("retry_at")
        batch.drop_column("priority")
    with op.batch_alter_table("outplans") as batch:
        batch.drop_column("dial_order")
        batch.drop_column("retry_rules")
