"""accesskeys.detail and accesskeys.token_prefix: access keys managed over REST (issue 14,
console-ops); indexes for the campaigncall list filters

Revision ID: 0950_console_ops_accesskeys
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0950_console_ops_accesskeys"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accesskeys") as batch:
        batch.add_column(sa.Column("detail", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column("token_prefix", sa.String(16), nullable=False, server_default="")
        )
    op.create_index(
        "ix_accesskeys_list", "accesskeys", ["customer_id", "tm_create", "id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_accesskeys_list", table_name="accesskeys")
    with op.batch_alter_table("accesskeys") as batch:
        batch.drop_column("token_prefix")
        batch.drop_column("detail")
