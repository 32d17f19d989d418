"""model_probes: the cluster's lease on each deployment's opt-in active health probe (one
``max_tokens=1`` completion per interval across every process) and its last answer

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 19:30:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "model_probes",
        sa.Column("deployment", sa.String(length=80), nullable=False),
        sa.Column("last_probe_at", sa.Float(), nullable=False),
        sa.Column("holder", sa.String(length=64), nullable=False),
        sa.Column("result_at", sa.Float(), nullable=True),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("deployment"),
    )


def downgrade() -> None:
    op.drop_table("model_probes")
