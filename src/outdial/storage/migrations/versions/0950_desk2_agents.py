"""campaigncalls.callback_agent_id (the agent a callback is routed to, NULL: the queue) and
agents.campaigncall_id (the call the agent is talking on, NULL: none; lets the recovery loop
free an agent left talking by an engine that died) (issue 13, desk2)

Revision ID: 0950_desk2_agents
Revises: 0800_agents (it adds columns to that migration's tables)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0950_desk2_agents"
down_revision = "0800_agents"
branch_labels = None
depends_on = None
Id = sa.Uuid(as_uuid=True)


def upgrade() -> None:
    with op.batch_alter_table("campaigncalls") as batch:
        batch.add_column(sa.Column("callback_agent_id", Id, nullable=True))
    with op.batch_alter_table("agents") as batch:
        batch.add_column(sa.Column("campaigncall_id", Id, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("agents") as batch:
        batch.drop_column("campaigncall_id")
    with op.batch_alter_table("campaigncalls") as batch:
        batch.drop_column("callback_agent_id")
