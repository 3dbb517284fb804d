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
    sa.Column("webhook_method", sa.String(8), nullable=False, server_default=""),
    sa.Column("webhook_uri", sa.Text, nullable=False, server_default=""),
    sa.Column("webhook_secret", sa.String(128), nullable=False, server_default=""),
    # Issue 10: the secret a rotation replaced keeps signing beside the new one until then.
    sa.Column("webhook_secret_old", sa.String(128), nullable=False, server_default=""),
    sa.Column("webhook_secret_old_until", Micros, nullable=False, server_default="0"),
    # Country calling codes (JSON list of digit strings) tel destinations must start with;
    # [] allows every number.
    sa.Column("allowed_calling_codes", sa.Text, nullable=False, server_default="[]"),
    # Targets stored and not deleted (the per-customer limit reads this, not a COUNT).
    sa.Column("target_count", sa.BigInteger, nullable=False, server_default="0"),
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
    # console-ops: keys over REST (VoIPBIN's `detail` and `token_prefix`, the token's first
    # characters, shown in lists so an operator can tell keys apart without the token).
    sa.Column("detail", sa.Text, nullable=False, server_default=""),
    sa.Column("token_prefix", sa.String(16), nullable=False, server_default=""),
    sa.Index("ix_accesskeys_list", "customer_id", "tm_create", "id"),
)

# Issue 14: customer users (console sign-in) and their sessions. A username is unique among
# users not deleted; only an argon2 hash of the password is kept, and only a SHA-256 of a
# session's cookie token.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False, index=True),
    sa.Column("username", sa.String(254), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),
    *_times(),
    sa.Index(
        "ix_users_username_live",
        "username",
        unique=True,
        sqlite_where=sa.text("tm_delete IS NULL"),
        postgresql_where=sa.text("tm_delete IS NULL"),
    ),
)

user_sessions = sa.Table(
    "user_sessions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("user_id", Id, nullable=False, index=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("tm_expire", Micros, nullable=False, index=True),
    *_times(),
)

agent_sessions = sa.Table(  # issue 14, the agent page: an agent's server-side sessions
    "agent_sessions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_id", Id, nullable=False, index=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("tm_expire", Micros, nullable=False, index=True),
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
    # Issue 6: the callee's own IANA zone, and the time before which the claim leaves the
    # target alone (its window is closed, or its number is over a per-number limit).
    sa.Column("timezone", sa.String(64), nullable=True),
    sa.Column("not_before", Micros, nullable=True),
    # Issue 17: priority (0-9, higher first under order `priority`), when the next try is due
    # (a retry rule or `PUT .../schedule`; NULL: `try_interval` after the last attempt), why,
    # and the destination the next attempt starts with (`PUT .../schedule`; NULL: rule 2).
    sa.Column("priority", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("retry_at", Micros, nullable=True),
    sa.Column("retry_note", sa.String(255), nullable=True),
    sa.Column("start_destination", sa.SmallInteger, nullable=True),
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
    # Issue 17: the claim's range scan under order `fifo` and `priority`.
    sa.Index(
        "ix_outdial_targets_idle_fifo",
        "outdial_id",
        "tm_create",
        "id",
        postgresql_where=sa.text("status = 'idle' AND tm_delete IS NULL"),
        sqlite_where=sa.text("status = 'idle' AND tm_delete IS NULL"),
    ),
    sa.Index(
        "ix_outdial_targets_idle_priority",
        "outdial_id",
        sa.text("priority DESC"),
        "tm_update",
        "id",
        postgresql_where=sa.text("status = 'idle' AND tm_delete IS NULL"),
        sqlite_where=sa.text("status = 'idle' AND tm_delete IS NULL"),
    ),
)
TARGET_DESTINATIONS = tuple(outdial_targets.c[f"destination_{n}"] for n in range(5))
TARGET_TRY_COUNTS = tuple(outdial_targets.c[f"try_count_{n}"] for n in range(5))

# Issue 17: what was done to a target by hand or by a recycle pass (reset, recycle), by whom
# and why; listed at GET /v1.0/outdials/{id}/targets/{target_id}/history.
target_history = sa.Table(
    "target_history",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("outdial_id", Id, nullable=False),
    sa.Column("outdial_target_id", Id, nullable=False),
    sa.Column("campaign_id", Id, nullable=False),  # the recycling campaign; nil for a reset
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("accesskey_id", Id, nullable=False),  # the key that asked; nil: the operator
    sa.Column("status", sa.String(16), nullable=False),  # the target's status before
    sa.Column("tm_create", Micros, nullable=False),
    sa.Index("ix_target_history_target", "outdial_target_id", "tm_create", "id"),
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
    # Issue 6: the calling window (JSON, NULL = any time) and the per-number limits.
    sa.Column("call_window", sa.Text, nullable=True),
    sa.Column("max_attempts_per_number_24h", sa.Integer, nullable=False, server_default="0"),
    sa.Column("min_number_gap", sa.BigInteger, nullable=False, server_default="0"),
    # Issue 11: SIP headers added to each INVITE (JSON object of name -> value).
    sa.Column("sip_headers", sa.Text, nullable=False, server_default="{}"),
    # Issue 17: retry rules per outcome (JSON list; "[]": none) and the claim's order (the
    # wire's `order`, a reserved word in SQL).
    sa.Column("retry_rules", sa.Text, nullable=False, server_default="[]"),
    sa.Column("dial_order", sa.String(32), nullable=False, server_default="oldest_attempt_first"),
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
    # Issue 12: opt-out by keypress, JSON {key, dnclist_id, confirmation}; NULL: none.
    sa.Column("opt_out", sa.Text, nullable=True),
    # Issue 13: agents. dial_mode "" = the default (power with a queue, none without).
    sa.Column("dial_mode", sa.String(16), nullable=False, server_default=""),
    sa.Column("max_abandon_rate", sa.Float, nullable=False, server_default="3"),
    sa.Column("abandon_message", sa.Text, nullable=False, server_default=""),
    sa.Column("dispositions", sa.Text, nullable=False, server_default="[]"),
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
    sa.Column("destination_number", sa.String(32), nullable=True),  # E.164 of a tel call
    # The outplan's calling window when the attempt was claimed, as stored on the outplan
    # ("null": none); NULL on attempts from before it was kept. The compliance log proves
    # each attempt against this, not against whatever the window is now.
    sa.Column("call_window", sa.Text, nullable=True),
    # Issue 12: what the call heard.
    sa.Column("amd_result", sa.String(16), nullable=False, server_default=""),
    sa.Column("amd_ms", sa.Integer, nullable=False, server_default="0"),
    sa.Column("digits", sa.Text, nullable=False, server_default=""),
    sa.Column("opted_out", sa.Boolean, nullable=False, server_default=sa.false()),
    # A short public detail of the end (domain/outcome.py PUBLIC_DETAILS), "" otherwise.
    sa.Column("hangup_detail", sa.String(32), nullable=False, server_default=""),
    # Issue 16 item 3: the engine that wrote the end (the attempt's own, or the one that
    # recovered it as `lost`); NULL while open and on attempts ended before it was kept.
    sa.Column("ended_by", sa.String(64), nullable=True),
    # Issue 13: the agent reached (NULL: none), abandon (answered, no agent within 2 s; the
    # number rests 72 h for every campaign of the customer), the agent's disposition.
    sa.Column("agent_id", Id, nullable=True),
    sa.Column("abandoned", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("tm_abandon", Micros, nullable=True),
    sa.Column("tm_connect", Micros, nullable=True),
    sa.Column("disposition", sa.String(64), nullable=False, server_default=""),
    sa.Column("disposition_note", sa.Text, nullable=False, server_default=""),
    sa.Column("callback_at", Micros, nullable=True),
    sa.Column("callback_agent_id", Id, nullable=True),  # the callback's agent (desk2)
    sa.Index("ix_campaigncalls_list", "customer_id", "tm_create", "id"),
    sa.Index("ix_campaigncalls_campaign", "campaign_id", "tm_create", "id"),
    sa.Index("ix_campaigncalls_target", "outdial_target_id"),
    sa.Index("ix_campaigncalls_number", "customer_id", "destination_number", "tm_create"),
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
    # Issue 16 item 3: when another engine recovered this one's attempts because it had
    # stopped beating. A fenced engine's heartbeat, claims and attempt writes are refused.
    sa.Column("fenced", Micros, nullable=True),
)

# Issue 5: the outbox. Each change writes its event in the same transaction; the id orders
# events (per customer and per resource) and is the SSE `id` and the replay cursor.
events = sa.Table(
    "events",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("type", sa.String(64), nullable=False),
    sa.Column("resource_id", Id, nullable=False),
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("tm_create", Micros, nullable=False),
    sa.Index("ix_events_customer", "customer_id", "id"),
)

# One row per delivery attempt of an event to its customer's webhook.
webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("uri", sa.Text, nullable=False),
    sa.Column("status_code", sa.Integer, nullable=True),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("ok", sa.Boolean, nullable=False),
    sa.Column("tm_create", Micros, nullable=False),
    sa.Index("ix_webhook_deliveries_event", "event_id"),
)

# Where each customer's webhook delivery stands: every event with a smaller id was delivered
# (or given up on); `next_try` holds the backoff of the event at the cursor.
webhook_cursors = sa.Table(
    "webhook_cursors",
    metadata,
    sa.Column("customer_id", Id, primary_key=True),
    sa.Column("next_event_id", sa.BigInteger, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_try", Micros, nullable=False, server_default="0"),
    # The worker delivering this customer's events, and until when it holds them.
    sa.Column("lease_owner", sa.String(64), nullable=False, server_default=""),
    sa.Column("lease_until", Micros, nullable=False, server_default="0"),
)

# Issue 6: do-not-call lists and their entries (numbers as E.164 text), and the skips the claim
# records (a window closed, a listed number, a per-number limit) as proof of compliance.
dnclists = sa.Table(
    "dnclists",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    *_times(),
    sa.Index("ix_dnclists_list", "customer_id", "tm_create", "id"),
)

dnc_entries = sa.Table(
    "dnc_entries",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("dnclist_id", Id, nullable=False),
    sa.Column("number", sa.String(32), nullable=False),
    sa.Column("expire", Micros, nullable=True),
    sa.Column("detail", sa.Text, nullable=False),
    *_times(),
    sa.Index("ix_dnc_entries_number", "customer_id", "number"),
    sa.Index("ix_dnc_entries_list", "dnclist_id", "tm_create", "id"),
)

dial_skips = sa.Table(
    "dial_skips",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("campaign_id", Id, nullable=False),
    sa.Column("outdial_target_id", Id, nullable=False),
    sa.Column("destination_index", sa.Integer, nullable=False),
    sa.Column("number", sa.String(32), nullable=False),
    sa.Column("reason", sa.String(32), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("clears_at", Micros, nullable=True),
    sa.Column("tm_create", Micros, nullable=False),
    sa.Index("ix_dial_skips_campaign", "campaign_id", "tm_create", "id"),
)

# Issue 10: uploaded audio (WAV), played by `play` actions as `media:<id>`.
media = sa.Table(
    "media",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("sample_rate", sa.Integer, nullable=False),
    sa.Column("channels", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    *_times(),
    sa.Index("ix_media_list", "customer_id", "tm_create", "id"),
)

# Issue 12: call recordings (WAV files under OUTDIAL_RECORDINGS_DIR; `path` never leaves the
# server). VoIPBIN's recording resource plus the campaign, the attempt and the file's shape.
recordings = sa.Table(
    "recordings",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("campaign_id", Id, nullable=False),
    sa.Column("campaigncall_id", Id, nullable=False),
    sa.Column("reference_type", sa.String(16), nullable=False),
    sa.Column("reference_id", Id, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("format", sa.String(8), nullable=False),
    sa.Column("channels", sa.Integer, nullable=False),
    sa.Column("duration_ms", sa.Integer, nullable=False),
    sa.Column("path", sa.Text, nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("tm_start", Micros, nullable=True),
    sa.Column("tm_end", Micros, nullable=True),
    *_times(),
    sa.Index("ix_recordings_list", "customer_id", "tm_create", "id"),
    sa.Index("ix_recordings_campaigncall", "campaigncall_id"),
)

# Issue 13: tags, agents (people who take answered calls) and queues (which agents serve).
tags = sa.Table(
    "tags",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    *_times(),
    sa.Index("ix_tags_list", "customer_id", "tm_create", "id"),
)

agents = sa.Table(
    "agents",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("customer_id", Id, nullable=False),
    sa.Column("username", sa.String(255), nullable=False),
    sa.Column("password_hash", sa.Text, nullable=False),  # argon2id; never leaves the service
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("detail", sa.Text, nullable=False),
    sa.Column("ring_method", sa.String(16), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("permission", sa.BigInteger, nullable=False),
    sa.Column("tag_ids", sa.Text, nullable=False),  # JSON list of tag ids
    sa.Column("addresses", sa.Text, nullable=False),  # JSON list of Address objects
    sa.Column("tm_status", Micros, nullable=False),  # when `status` last changed (longest idle)
    sa.Column("campaigncall_id", Id, nullable=True),  # the call it talks on (desk2), else NULL
    sa.Column("nailed_up", sa.Boolean, nullable=False, server_default=sa.false()),  # (nailed)
    *_times(),
    sa.Index("ix_agents_list", "customer_id", "tm_create", "id"),
    sa.Index("ix_agents_status", "customer_id", "status"),
)

queues = sa.Table(
    "queues",
    metadata,
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
    sa.Index("ix_queues_list", "customer_id", "tm_create", "id"),
)
