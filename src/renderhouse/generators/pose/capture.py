"""Capture a pose from an avatar: its stored ("current") node pose, or a glTF animation clip
sampled at a time — the inverse of ``retarget``, so the pose can go onto any other avatar.

For each mapped joint, N(bone) = posed world rotation · reference rotation⁻¹; a bone's local
rotation is N(nearest present canonical parent)⁻¹ · N(bone). The hips offset is the hips'
move from the bind pose, in hips heights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from renderhouse.errors import InvalidInput
from renderhouse.generators.pose import rotations as rot
from renderhouse.generators.pose.avatar import Avatar
from renderhouse.generators.pose.pose_format import Pose
from renderhouse.generators.pose.retarget import reference_rotations
from renderhouse.generators.pose.skeleton import BONES, present_parent
from renderhouse.scene.gltf_accessors import AccessorReader
from renderhouse.scene.gltf_animation import local_transforms, world_transforms


def _clip(doc: dict[str, Any], reader: AccessorReader, clip: str | int) -> tuple[int, float]:
    """(index, duration in seconds) of a clip named or numbered ``clip``."""
    anims = doc.get("animations") or []
    names = [str(a.get("name") or i) for i, a in enumerate(anims)]
    if isinstance(clip, int) or (isinstance(clip, str) and clip.isdigit() and clip not in names):
        index = int(clip)
    elif clip in names:
        index = names.index(clip)
    else:
        index = -1
    if not 0 <= index < len(anims):
        raise InvalidInput(
            f"the avatar has no animation clip {clip!r}; it has: {', '.join(names) or 'none'}",
            code="unknown_clip",
            details={"clips": names},
        )
    duration = 0.0
    for sampler in anims[index].get("samplers") or []:
        times = reader.read(sampler["input"])
        if times.size:
            duration = max(duration, float(times.max()))
    return index, duration


def capture_pose(
    avatar: Avatar, clip: str | int | None = None, time: float = 0.0, name: str = "captured"
) -> Pose:
    """The avatar's pose as stored (``clip`` None) or in ``clip`` at ``time`` seconds."""
    doc = avatar.model.doc
    reader = AccessorReader(doc, avatar.model.buffers)
    animation = None
    if clip is not None:
        animation, duration = _clip(doc, reader, clip)
        if not 0.0 <= time <= duration:
            raise InvalidInput(
                f"time {time} s is outside clip {clip!r}, which runs from 0 to {duration:.4g} s",
                code="bad_clip_time",
                details={"duration": duration},
            )
    local, _ = local_transforms(doc, reader, animation, time)
    world = world_transforms(doc, local, avatar.root)
    ref = reference_rotations(avatar)
    bones = avatar.bones.bones
    n_world = {
        b: rot.multiply(rot.from_matrix(world[n][:3, :3]), rot.inverse(ref[n]))
        for b, n in bones.items()
        if n in world
    }
    rotations: dict[str, np.ndarray] = {}
    for bone in BONES:
        if bone not in n_world:
            continue
        parent = present_parent(bone, n_world)
        base = n_world[parent] if parent is not None else rot.IDENTITY
        q = rot.normalise(rot.multiply(rot.inverse(base), n_world[bone]))
        if q[3] < 0:
            q = -q
        if 1.0 - q[3] > 1e-10:
            rotations[bone] = q
    hips = bones["hips"]
    offset = (world[hips][:3, 3] - avatar.bind[hips][:3, 3]) / max(avatar.hips_height, 1e-9)
    return Pose(
        name=name,
        category="custom",
        title=name,
        rotations=rotations,
        hips_offset=np.round(offset, 6),
    )
