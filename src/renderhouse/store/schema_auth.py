"""Tables of the HTTP edge: users, API keys, uploads and the webhook delivery log. They live
on the same ``metadata`` as the queue's tables so one Alembic history covers both."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)

from renderhouse.store.schema import metadata

users = Table(
    "users",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("org", String(255)),
    Column("is_admin", Boolean, nullable=False, server_default=text("false")),
    Column("disabled", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    # The public prefix finds the row; only the secret's SHA-256 is stored.
    Column("prefix", String(32), primary_key=True),
    Column("user_id", String(32), ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("name", String(255), nullable=False, server_default=""),
    Column("created_at", Float, nullable=False),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
)
Index("ix_api_keys_user", api_keys.c.user_id)

uploads = Table(
    "uploads",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("name", String(255), nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("key", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)
Index("ix_uploads_owner", uploads.c.owner, uploads.c.id)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("job_id", String(32), nullable=False),
    Column("delivery_job_id", String(32), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("event", String(32), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("finished_at", Float, nullable=False),
)
Index("ix_webhook_deliveries_job", webhook_deliveries.c.job_id)
