"""References in a ``pose`` job's input that only the platform knows, turned into what the
generator's input model takes before the upload references are checked:

- ``avatar: "avatar:<id>"`` → the avatar's ``upload:<id>``, plus its edited bone map (unless
  the input gives one) and its project's preset (unless the input names one);
- ``preset: "preset:<id>"`` → that preset's shot settings, under any the input sets itself;
- a name in ``poses`` that is the caller's own pose → that pose in ``custom_poses``.

So the job row holds references and data, never a server path, and the worker still hands
the generator a local file (``renderhouse.uploads.Staging``)."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Connection

from renderhouse.avatars import avatar_rows, own_poses, projects
from renderhouse.errors import InvalidInput
from renderhouse.store.database import Store

AVATAR_REF = re.compile(r"^avatar:(av_[0-9a-f]{24})$")
PRESET_REF = re.compile(r"^preset:(ps_[0-9a-f]{24})$")


def mentions_references(data: dict[str, Any]) -> bool:
    """Whether ``data`` needs ``resolve`` (cheap: reads no database)."""
    from renderhouse.generators.pose.pose_format import library

    avatar, names = data.get("avatar"), data.get("poses")
    return (
        "preset" in data
        or (isinstance(avatar, str) and avatar.startswith("avatar:"))
        or (
            isinstance(names, list)
            and any(isinstance(n, str) and n not in library() for n in names)
        )
    )


def _ref(pattern: re.Pattern[str], value: Any, field: str, example: str) -> str:
    match = pattern.match(value) if isinstance(value, str) else None
    if match is None:
        raise InvalidInput(
            f"input.{field} must look like {example!r}",
            code="bad_reference",
            details={"field": f"input.{field}"},
        )
    return match.group(1)


def _own_poses(conn: Connection, owner: str, data: dict[str, Any]) -> None:
    from renderhouse.generators.pose.pose_format import library

    names = data.get("poses")
    if not isinstance(names, list):
        return
    shipped = library()
    keep: list[Any] = []
    custom = list(data.get("custom_poses") or [])
    for name in names:
        own = None
        if isinstance(name, str) and name not in shipped:
            own = own_poses.find(conn, owner, name)
        if own is None:
            keep.append(name)
        else:
            custom.append(own.pose)
    if len(keep) != len(names):
        data["poses"], data["custom_poses"] = keep, custom


def resolve(store: Store, owner: str, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with the references above resolved against ``owner``'s rows (another
    user's id is as unknown as none: 404)."""
    data = dict(data)
    with store.read() as conn:
        preset_id = None
        if "preset" in data:
            preset_id = _ref(PRESET_REF, data.pop("preset"), "preset", "preset:ps_…")
        avatar = data.get("avatar")
        if isinstance(avatar, str) and avatar.startswith("avatar:"):
            record = avatar_rows.get(conn, owner, _ref(AVATAR_REF, avatar, "avatar", "avatar:av_…"))
            data["avatar"] = record.upload_ref
            if "bone_map" not in data and record.bone_overrides:
                data["bone_map"] = record.bone_overrides
            if preset_id is None and record.project_id is not None:
                preset_id = projects.get_project(conn, owner, record.project_id).preset_id
        if preset_id is not None:
            for key, value in projects.get_preset(conn, owner, preset_id).settings.items():
                data.setdefault(key, value)
        _own_poses(conn, owner, data)
    return data
