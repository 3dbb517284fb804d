"""users and user_sessions: customer users who sign in to the console with a password, and
their server-side sessions (issue 14)

Revision ID: 0900_users
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0900_users"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("username", sa.String(254), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.Column("tm_update", sa.BigInteger(), nullable=False),
        sa.Column("tm_delete", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
    )
    op.create_index("ix_users_customer_id", "users", ["customer_id"])
    op.create_index(
        "ix_users_username_live",
        "users",
        ["username"],
        unique=True,
        sqlite_where=sa.text("tm_delete IS NULL"),
        postgresql_where=sa.text("tm_delete IS NULL"),
    )
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("customer_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("csrf_token", sa.String(64), nullable=False),
        sa.Column("tm_expire", sa.BigInteger(), nullable=False),
        sa.Column("tm_create", sa.BigInteger(), nullable=False),
        sa.Column("tm_update", sa.BigInteger(), nullable=False),
        sa.Column("tm_delete", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_user_sessions"),
        sa.UniqueConstraint("token_hash", name="uq_user_sessions_token_hash"),
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    op.create_index("ix_user_sessions_tm_expire", "user_sessions", ["tm_expire"])


def downgrade() -> None:
    op.drop_table("user_sessions")
    op.drop_table("users")
