"""model usage made by jobs (``ctx.llm``): the source names the job's kind, the row its job

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("model_usage") as batch:
        batch.alter_column("source", existing_type=sa.String(length=8), type_=sa.String(length=40))
        batch.add_column(sa.Column("job_id", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_usage") as batch:
        batch.drop_column("job_id")
        batch.alter_column("source", existing_type=sa.String(length=40), type_=sa.String(length=8))
