"""agents.nailed_up (outdial's own field: the engine's desk keeps one leg to the agent open
between calls; docs/agents.md "Nailed-up agents") (issue 13, nailed)

Revision ID: 0960_nailed_agents
Revises: 0800_agents (it adds a column to that migration's table)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0960_nailed_agents"
down_revision = "0800_agents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.add_column(
            sa.Column("nailed_up", sa.Boolean, nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("nailed_up")
