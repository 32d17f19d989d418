"""credits ledger, budgets and payment orders

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 19:11:51.306130
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "budget_holds",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("window", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("actual", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("settled_at", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("budget_holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_budget_holds_state_created", ["state", "created_at"], unique=False
        )

    op.create_table(
        "budget_usage",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("window", sa.String(length=16), nullable=False),
        sa.Column("spent", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("held", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("held >= 0", name="ck_budget_usage_held_nonneg"),
        sa.PrimaryKeyConstraint("key", "period", "window", name="pk_budget_usage"),
    )
    op.create_table(
        "budgets",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("limit_amount", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.CheckConstraint("period IN ('day', 'month')", name="ck_budgets_period"),
        sa.PrimaryKeyConstraint("key", "period", name="pk_budgets"),
    )
    op.create_table(
        "credit_accounts",
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("available", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("held", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.CheckConstraint("available >= 0", name="ck_credit_accounts_available_nonneg"),
        sa.CheckConstraint("held >= 0", name="ck_credit_accounts_held_nonneg"),
        sa.PrimaryKeyConstraint("account"),
    )
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("job_id", sa.String(length=32), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=True),
        sa.Column("payment_ref", sa.String(length=128), nullable=True),
        sa.Column("actor", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.CheckConstraint("amount >= 0 OR kind = 'adjustment'", name="ck_ledger_entries_amount"),
        sa.CheckConstraint(
            "kind IN ('grant', 'purchase', 'reserve', 'post', 'void', 'adjustment')",
            name="ck_ledger_entries_kind",
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("job_id", "kind", name="uq_ledger_entries_job_kind"),
        sa.UniqueConstraint("provider", "payment_ref", name="uq_ledger_entries_payment"),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index("ix_ledger_entries_account", ["account", "id"], unique=False)

    op.create_table(
        "payment_orders",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("account", sa.String(length=128), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("pack", sa.String(length=64), nullable=False),
        sa.Column("credits", sa.BigInteger(), nullable=False),
        sa.Column("price", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("provider_ref", sa.String(length=128), nullable=True),
        sa.Column("payment_url", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.CheckConstraint("credits > 0 AND price > 0", name="ck_payment_orders_positive"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.create_index("ix_payment_orders_account", ["account", "created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_orders", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_orders_account")

    op.drop_table("payment_orders")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_account")

    op.drop_table("ledger_entries")
    op.drop_table("credit_accounts")
    op.drop_table("budgets")
    op.drop_table("budget_usage")
    with op.batch_alter_table("budget_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_budget_holds_state_created")

    op.drop_table("budget_holds")
