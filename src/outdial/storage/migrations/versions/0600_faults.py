"""campaigncalls.hangup_detail: a short public detail of how an attempt ended (`trunk_down`,
`destination_blocked`; "" otherwise) (issue 16)

Revision ID: 0600_faults
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0600_faults"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("campaigncalls") as batch:
        batch.add_column(
            sa.Column("hangup_detail", sa.String(32), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("campaigncalls") as batch:
        batch.drop_column("hangup_detail")
