"""Agents, tags and queues; the campaign's dial mode and abandon settings; what a campaigncall
knows of the agent it reached (issue 13).

Revision ID: 0800_agents
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0800_agents"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.Uuid(as_uuid=True)


def _times() -> list[sa.Column[int]]:
    return [
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.Column("tm_update", sa.BigInteger(), nullable=False),
        sa.Column("tm_delete", sa.BigInteger(), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "tags",
        sa.Column("id", Id, primary_key=True),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        *_times(),
    )
    op.create_index("ix_tags_list", "tags", ["customer_id", "tm_create", "id"])
    op.create_table(
        "agents",
        sa.Column("id", Id, primary_key=True),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("ring_method", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("permission", sa.BigInteger, nullable=False),
        sa.Column("tag_ids", sa.Text, nullable=False),
        sa.Column("addresses", sa.Text, nullable=False),
        sa.Column("tm_status", sa.BigInteger, nullable=False),
        *_times(),
    )
    op.create_index("ix_agents_list", "agents", ["customer_id", "tm_create", "id"])
    op.create_index("ix_agents_status", "agents", ["customer_id", "status"])
    op.create_table(
        "queues",
        sa.Column("id", Id, primary_key=True),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("routing_method", sa.String(16), nullable=False),
        sa.Column("tag_ids", sa.Text, nullable=False),
        sa.Column("wait_actions", sa.Text, nullable=False),
        sa.Column("wait_timeout", sa.Integer, nullable=False),
        sa.Column("service_timeout", sa.Integer, nullable=False),
        sa.Column("total_incoming_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total_serviced_count", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("total_abandoned_count", sa.BigInteger, nullable=False, server_default="0"),
        *_times(),
    )
    op.create_index("ix_queues_list", "queues", ["customer_id", "tm_create", "id"])
    with op.batch_alter_table("campaigns") as batch:
        batch.add_column(sa.Column("dial_mode", sa.String(16), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("max_abandon_rate", sa.Float, nullable=False, server_default="3")
        )
        batch.add_column(sa.Column("abandon_message", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("dispositions", sa.Text, nullable=False, server_default="[]"))
    with op.batch_alter_table("campaigncalls") as batch:
        batch.add_column(sa.Column("agent_id", Id, nullable=True))  # NULL: no agent
        batch.add_column(
            sa.Column("abandoned", sa.Boolean, nullable=False, server_default=sa.false())
        )
        batch.add_column(sa.Column("tm_abandon", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("tm_connect", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("disposition", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("disposition_note", sa.Text, nullable=False, server_default=""))
        batch.add_column(sa.Column("callback_at", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("campaigncalls") as batch:
        for name in (
            "callback_at",
            "disposition_note",
            "disposition",
            "tm_connect",
            "tm_abandon",
            "abandoned",
            "agent_id",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("campaigns") as batch:
        for name in ("dispositions", "abandon_message", "max_abandon_rate", "dial_mode"):
            batch.drop_column(name)
    op.drop_index("ix_queues_list", "queues")
    op.drop_table("queues")
    op.drop_index("ix_agents_status", "agents")
    op.drop_index("ix_agents_list", "agents")
    op.drop_table("agents")
    op.drop_index("ix_tags_list", "tags")
    op.drop_table("tags")
