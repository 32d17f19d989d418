"""Tables. Times are epoch seconds (float) from the injectable clock, so both databases
compare them the same way and tests move time without sleeping."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()

JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")

jobs = Table(
    "jobs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(64), nullable=False),
    Column("owner", String(64), nullable=False),
    Column("input", Text, nullable=False),
    Column("state", String(16), nullable=False),
    Column("priority", Integer, nullable=False, server_default="0"),
    # Virtual-clock fair queueing key (queue/enqueue.py): interleaves owners within a priority.
    Column("fair_key", BigInteger, nullable=False, server_default="0"),
    Column("run_at", Float, nullable=False),
    Column("attempt", Integer, nullable=False, server_default="0"),
    Column("snoozes", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False),
    Column("timeout", Float, nullable=False),
    Column("lease_expires_at", Float),
    Column("worker_id", String(64)),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("checkpoint", Text),
    Column("progress_done", Float, nullable=False, server_default="0"),
    Column("progress_total", Float, nullable=False, server_default="0"),
    Column("progress_message", Text, nullable=False, server_default=""),
    Column("result", Text),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("idempotency_key", String(255)),
    Column("parent_id", String(32)),
    Column("webhook_url", Text),
    Column("cost_estimated", BigInteger, nullable=False, server_default="0"),
    Column("cost_reserved", BigInteger, nullable=False, server_default="0"),
    Column("cost_posted", BigInteger),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("attempted_at", Float),
    Column("finished_at", Float),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("owner", "idempotency_key", name="uq_jobs_owner_idempotency_key"),
)
Index(
    "ix_jobs_claim",
    jobs.c.kind,
    jobs.c.priority,
    jobs.c.fair_key,
    postgresql_where=jobs.c.state == "queued",
    sqlite_where=jobs.c.state == "queued",
)
Index(
    "ix_jobs_lease",
    jobs.c.lease_expires_at,
    postgresql_where=jobs.c.state == "running",
    sqlite_where=jobs.c.state == "running",
)
Index("ix_jobs_owner_created", jobs.c.owner, jobs.c.created_at)
Index("ix_jobs_state_finished", jobs.c.state, jobs.c.finished_at)
Index("ix_jobs_parent", jobs.c.parent_id)

job_attempts = Table(
    "job_attempts",
    metadata,
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True),
    Column("attempt", Integer, primary_key=True),
    Column("worker_id", String(64)),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("outcome", String(16)),
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("traceback", Text),
)

job_events = Table(
    "job_events",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("ts", Float, nullable=False),
    Column("type", String(32), nullable=False),
    Column("data", Text, nullable=False),
)
Index("ix_job_events_job", job_events.c.job_id, job_events.c.id)

artifacts = Table(
    "artifacts",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("job_id", String(32), ForeignKey("jobs.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(512), nullable=False),
    Column("key", Text, nullable=False),
    Column("content_type", String(128), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("job_id", "name", name="uq_artifacts_job_name"),
)

owner_lanes = Table(
    "owner_lanes",
    metadata,
    Column("owner", String(64), primary_key=True),
    Column("next_key", BigInteger, nullable=False),
)

workers = Table(
    "workers",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("kinds", Text, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
)

breakers = Table(
    "breakers",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("failures", Integer, nullable=False),
    Column("opened_at", Float),
    Column("updated_at", Float, nullable=False),
)

periodic_runs = Table(
    "periodic_runs",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("slot", Float, primary_key=True),
    Column("job_id", String(32)),
)

# What the alert rules found firing at their last evaluation, shared by every process that
# evaluates them: a row is inserted once when an alert starts and deleted once when it
# resolves, so the webhook hears of each change once however many processes evaluate.
alerts_firing = Table(
    "alerts_firing",
    metadata,
    Column("key", String(64), primary_key=True),  # sha256 of the alert's fingerprint
    Column("host", String(255)),  # the machine an alert is about (its disk); NULL: cluster
    Column("name", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("data", Text, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
