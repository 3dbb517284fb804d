"""attempt window: each campaigncall keeps the calling window it was claimed under

Revision ID: 0101_attempt_window
Revises: 0100_compliance
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0101_attempt_window"
down_revision = "0100_compliance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigncalls") as batch:
        batch.add_column(sa.Column("call_window", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigncalls") as batch:
        batch.drop_column("call_window")
