"""avatars, avatar projects, pose presets and users' own poses (the pose platform side)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 16:10:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "avatar_projects",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("preset_id", sa.String(length=32), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_avatar_projects_owner", "avatar_projects", ["owner", "id"])
    op.create_table(
        "avatars",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=True),
        sa.Column("upload_id", sa.String(length=32), nullable=False),
        sa.Column("bone_overrides", sa.Text(), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_avatars_owner", "avatars", ["owner", "id"])
    op.create_table(
        "pose_presets",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_pose_presets_owner", "pose_presets", ["owner", "id"])
    op.create_table(
        "user_poses",
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("pose", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("owner", "name", name="pk_user_poses"),
    )


def downgrade() -> None:
    op.drop_table("user_poses")
    op.drop_index("ix_pose_presets_owner", table_name="pose_presets")
    op.drop_table("pose_presets")
    op.drop_index("ix_avatars_owner", table_name="avatars")
    op.drop_table("avatars")
    op.drop_index("ix_avatar_projects_owner", table_name="avatar_projects")
    op.drop_table("avatar_projects")
