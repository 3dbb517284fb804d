"""outplan sip_headers: a small map of SIP headers added to each INVITE (issue 11)

Revision ID: 0400_outplan_sip_headers
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0400_outplan_sip_headers"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outplans") as batch:
        batch.add_column(sa.Column("sip_headers", sa.Text(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("outplans") as batch:
        batch.drop_column("sip_headers")
