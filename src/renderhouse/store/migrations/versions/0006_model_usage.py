"""model_usage: one row per LLM chat request (tokens, credits, latency) for /v1/usage

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 15:40:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_usage",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=32), nullable=True),
        sa.Column("model", sa.String(length=64), nullable=False),
        sa.Column("deployment", sa.String(length=80), nullable=True),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error_code", sa.String(length=48), nullable=True),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.BigInteger(), nullable=False),
        sa.Column("reserved", sa.BigInteger(), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index("ix_model_usage_owner", "model_usage", ["owner", "created_at"])
    op.create_index("ix_model_usage_model", "model_usage", ["model", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_model_usage_model", table_name="model_usage")
    op.drop_index("ix_model_usage_owner", table_name="model_usage")
    op.drop_table("model_usage")
