"""Tables of the credits ledger, budgets and payment orders, on the shared ``metadata``.

``ledger_entries`` is append-only and the source of truth; ``credit_accounts`` caches each
account's balances and carries the CHECK constraints that make an overdraft impossible.
Entry amounts are positive magnitudes except ``adjustment`` (signed). Per account:

    available = grant + purchase + adjustment - reserve + void
    held      = reserve - post - void            (reserved for jobs not finished yet)

A job's entries are grouped in rounds: round 0 is reserved with the job insert, and each
manual retry of a settled job reserves again in the next round (``ledger/reruns.py``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Float,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from renderhouse.store.schema import metadata

ENTRY_KINDS = ("grant", "purchase", "reserve", "post", "void", "adjustment")

credit_accounts = Table(
    "credit_accounts",
    metadata,
    Column("account", String(128), primary_key=True),
    Column("available", BigInteger, nullable=False, server_default="0"),
    Column("held", BigInteger, nullable=False, server_default="0"),
    Column("updated_at", Float, nullable=False),
    CheckConstraint("available >= 0", name="ck_credit_accounts_available_nonneg"),
    CheckConstraint("held >= 0", name="ck_credit_accounts_held_nonneg"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("account", String(128), nullable=False),
    Column("job_id", String(32)),
    Column("kind", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("reason", Text, nullable=False, server_default=""),
    Column("provider", String(32)),
    Column("payment_ref", String(128)),
    Column("actor", String(64)),
    Column("created_at", Float, nullable=False),
    # A job's round: 0 from its enqueue, +1 for each manual retry that reserves again.
    Column("round", Integer, nullable=False, server_default="0"),
    # One reservation, one post, one void per job and round; NULL job ids never collide.
    UniqueConstraint("job_id", "kind", "round", name="uq_ledger_entries_job_kind_round"),
    # One purchase per provider payment, however often the provider calls back.
    UniqueConstraint("provider", "payment_ref", name="uq_ledger_entries_payment"),
    CheckConstraint(
        "kind IN ('grant', 'purchase', 'reserve', 'post', 'void', 'adjustment')",
        name="ck_ledger_entries_kind",
    ),
    CheckConstraint("amount >= 0 OR kind = 'adjustment'", name="ck_ledger_entries_amount"),
)
Index("ix_ledger_entries_account", ledger_entries.c.account, ledger_entries.c.id)

budgets = Table(
    "budgets",
    metadata,
    Column("key", String(128), nullable=False),
    Column("period", String(8), nullable=False),
    Column("limit_amount", BigInteger, nullable=False),
    Column("updated_at", Float, nullable=False),
    PrimaryKeyConstraint("key", "period", name="pk_budgets"),
    CheckConstraint("period IN ('day', 'month')", name="ck_budgets_period"),
)

budget_usage = Table(
    "budget_usage",
    metadata,
    Column("key", String(128), nullable=False),
    Column("period", String(8), nullable=False),
    Column("window", String(16), nullable=False),
    Column("spent", BigInteger, nullable=False, server_default="0"),
    Column("held", BigInteger, nullable=False, server_default="0"),
    PrimaryKeyConstraint("key", "period", "window", name="pk_budget_usage"),
    CheckConstraint("held >= 0", name="ck_budget_usage_held_nonneg"),
)

budget_holds = Table(
    "budget_holds",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("key", String(128), nullable=False),
    Column("period", String(8), nullable=False),
    Column("window", String(16), nullable=False),
    Column("amount", BigInteger, nullable=False),
    Column("actual", BigInteger),
    Column("state", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("settled_at", Float),
)
Index("ix_budget_holds_state_created", budget_holds.c.state, budget_holds.c.created_at)

payment_orders = Table(
    "payment_orders",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("account", String(128), nullable=False),
    Column("provider", String(32), nullable=False),
    Column("pack", String(64), nullable=False),
    Column("credits", BigInteger, nullable=False),
    Column("price", BigInteger, nullable=False),
    Column("currency", String(8), nullable=False),
    Column("state", String(16), nullable=False),
    Column("provider_ref", String(128)),
    Column("payment_url", Text),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    CheckConstraint("credits > 0 AND price > 0", name="ck_payment_orders_positive"),
)
Index("ix_payment_orders_account", payment_orders.c.account, payment_orders.c.created_at)
