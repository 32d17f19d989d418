"""Tables of the ``pose`` platform side: avatars (an upload validated as a rigged humanoid,
with its bone mapping), the projects that group them, presets (a user's default shot) and
users' own poses. Every row is owner-scoped; rows refer to uploads by id, never by path.

JSON columns hold small documents (a bone map, a summary, a pose in ``renderhouse-pose/1``
form, a preset's shot settings) that are read whole and never queried into.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Index, PrimaryKeyConstraint, String, Table, Text

from renderhouse.store.schema import metadata

avatar_projects = Table(
    "avatar_projects",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("name", String(120), nullable=False),
    Column("preset_id", String(32)),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_avatar_projects_owner", avatar_projects.c.owner, avatar_projects.c.id)

avatars = Table(
    "avatars",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("name", String(120), nullable=False),
    Column("project_id", String(32)),
    Column("upload_id", String(32), nullable=False),
    Column("bone_overrides", Text, nullable=False),  # canonical bone → joint name (the user's)
    Column("mapping", Text, nullable=False),  # the resulting map: {"scheme", "bones"}
    Column("summary", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_avatars_owner", avatars.c.owner, avatars.c.id)

pose_presets = Table(
    "pose_presets",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("owner", String(64), nullable=False),
    Column("name", String(120), nullable=False),
    Column("settings", Text, nullable=False),  # camera, background, lighting, size, …
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_pose_presets_owner", pose_presets.c.owner, pose_presets.c.id)

user_poses = Table(
    "user_poses",
    metadata,
    Column("owner", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("category", String(32), nullable=False),
    Column("title", String(120), nullable=False),
    Column("pose", Text, nullable=False),  # renderhouse-pose/1 JSON
    Column("source", Text, nullable=False),  # where it was captured from (avatar, clip, time)
    Column("created_at", Float, nullable=False),
    PrimaryKeyConstraint("owner", "name", name="pk_user_poses"),
)
