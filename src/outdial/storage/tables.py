"""Table definitions (SQLAlchemy Core). Times are UTC microseconds since the epoch (BIGINT);
`tm_delete` is NULL while a row is not deleted (the API shows the sentinel)."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = sa.Uuid(as_uuid=True)
Micros = sa.BigInteger()


def _times() -> list[sa.Column[int]]:
    return [
        sa.Column("tm_create", Micros, nullable=False),
        sa.Column("tm_update", Micros, nullable=False),
        sa.Column("tm_delete", Micros, nullable=True),
    ]


customers = sa.Table(
    "customers",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.String(255), nullable=False),
    *_times(),
)

accesskeys = sa.Table(
    "accesskeys",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False, index=True),
    sa.Column("name", sa.String(255), nullable=False, server_default=""),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("tm_expire", Micros, nullable=True),
    *_times(),
)

outdials = sa.Table(
    "outdials",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("campaign_id", Id, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    *_times(),
    sa.Index("ix_outdials_list", "customer_id", "tm_create", "id"),
)

_dest_cols = [sa.Column(f"destination_{n}", sa.Text, nullable=True) for n in range(5)]
_try_cols = [
    sa.Column(f"try_count_{n}", sa.Integer, nullable=False, server_default="0") for n in range(5)
]

outdial_targets = sa.Table(
    "outdial_targets",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("outdial_id", Id, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    *_dest_cols,
    *_try_cols,
    sa.Column("last_attempt_end", Micros, nullable=True),
    *_times(),
    sa.Index(
        "ix_outdial_targets_list",
        "outdial_id",
        "tm_create",
        "id",
        postgresql_where=sa.text("tm_delete IS NULL"),
        sqlite_where=sa.text("tm_delete IS NULL"),
    ),
    sa.Index(
        "ix_outdial_targets_idle",
        "outdial_id",
        "tm_update",
        "id",
        postgresql_where=sa.text("status = 'idle' AND tm_delete IS NULL"),
        sqlite_where=sa.text("status = 'idle' AND tm_delete IS NULL"),
    ),
)

outplans = sa.Table(
    "outplans",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("dial_timeout", sa.BigInteger, nullable=False),
    sa.Column("try_interval", sa.BigInteger, nullable=False),
    *[sa.Column(f"max_try_count_{n}", sa.Integer, nullable=False) for n in range(5)],
    *_times(),
    sa.Index("ix_outplans_list", "customer_id", "tm_create", "id"),
)

campaigns = sa.Table(
    "campaigns",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("service_level", sa.Integer, nullable=False),
    sa.Column("end_handle", sa.String(16), nullable=False),
    sa.Column("actions", sa.Text, nullable=False),
    sa.Column("outplan_id", Id, nullable=False),
    sa.Column("outdial_id", Id, nullable=False),
    sa.Column("queue_id", Id, nullable=False),
    sa.Column("next_campaign_id", Id, nullable=False),
    sa.Column("max_concurrent_calls", sa.Integer, nullable=False),
    sa.Column("calls_per_second", sa.Float, nullable=False),
    # Engine bookkeeping, changed only by guarded updates: attempts in flight and the
    # earliest time the next attempt may start (pacing shared by every engine process).
    sa.Column("in_flight", sa.Integer, nullable=False, server_default="0"),
    sa.Column("pace_next", Micros, nullable=False, server_default="0"),
    *_times(),
    sa.Index("ix_campaigns_list", "customer_id", "tm_create", "id"),
    sa.Index("ix_campaigns_status", "status"),
)

campaigncalls = sa.Table(
    "campaigncalls",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("campaign_id", Id, nullable=False),
    sa.Column("outplan_id", Id, nullable=False),
    sa.Column("outdial_id", Id, nullable=False),
    sa.Column("outdial_target_id", Id, nullable=False),
    sa.Column("queue_id", Id, nullable=False),
    sa.Column("activeflow_id", Id, nullable=False),
    sa.Column("flow_id", Id, nullable=False),
    sa.Column("reference_type", sa.String(16), nullable=False),
    sa.Column("reference_id", Id, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("result", sa.String(16), nullable=False),
    sa.Column("source", sa.Text, nullable=True),
    sa.Column("destination", sa.Text, nullable=True),
    sa.Column("destination_index", sa.Integer, nullable=False),
    sa.Column("try_count", sa.Integer, nullable=False),
    sa.Column("hangup_reason", sa.String(16), nullable=False),
    sa.Column("sip_code", sa.Integer, nullable=True),
    sa.Column("lease_expires", Micros, nullable=True),
    sa.Column("engine_id", sa.String(64), nullable=False),
    *_times(),
    sa.Index("ix_campaigncalls_list", "customer_id", "tm_create", "id"),
    sa.Index("ix_campaigncalls_campaign", "campaign_id", "tm_create", "id"),
    sa.Index("ix_campaigncalls_target", "outdial_target_id"),
    sa.Index(
        "ix_campaigncalls_open",
        "campaign_id",
        "status",
        postgresql_where=sa.text("status <> 'done'"),
        sqlite_where=sa.text("status <> 'done'"),
    ),
)

engines = sa.Table(
    "engines",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started", Micros, nullable=False),
    sa.Column("heartbeat", Micros, nullable=False),
    sa.Column("stopped", Micros, nullable=True),
)
