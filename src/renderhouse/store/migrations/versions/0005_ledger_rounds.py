"""ledger entries per round: a manual retry of a settled paid job reserves again

Revision ID: 0005
Revises: 0004 (0004 is alerts_firing, written at the same time)
Create Date: 2026-12-02 10:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("round", sa.Integer(), server_default="0", nullable=False))
        batch_op.drop_constraint("uq_ledger_entries_job_kind", type_="unique")
        batch_op.create_unique_constraint(
            "uq_ledger_entries_job_kind_round", ["job_id", "kind", "round"]
        )


def downgrade() -> None:
    # Only sound while no job has a second round: the old key allows one entry per kind.
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_constraint("uq_ledger_entries_job_kind_round", type_="unique")
        batch_op.create_unique_constraint("uq_ledger_entries_job_kind", ["job_id", "kind"])
        batch_op.drop_column("round")
