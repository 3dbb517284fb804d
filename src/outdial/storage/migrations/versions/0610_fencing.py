"""Fencing (issue 16 item 3): engines.fenced, set when another engine recovered an engine's
attempts because it stopped beating (its heartbeat, claims and attempt writes are refused from
then on); campaigncalls.ended_by, the engine that wrote an attempt's end (its own engine, or
the one that recovered it as `lost`).

Revision ID: 0610_fencing
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0610_fencing"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("engines") as batch:
        batch.add_column(sa.Column("fenced", sa.BigInteger(), nullable=True))
    with op.batch_alter_table("campaigncalls") as batch:
        batch.add_column(sa.Column("ended_by", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigncalls") as batch:
        batch.drop_column("ended_by")
    with op.batch_alter_table("engines") as batch:
        batch.drop_column("fenced")
