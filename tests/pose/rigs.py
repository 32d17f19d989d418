"""Posing helpers shared by the pose tests: world joint positions of a posed avatar."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from renderhouse.generators.pose.avatar import Avatar, load_avatar
from renderhouse.generators.pose.mannequin import MannequinOptions, build_mannequin
from renderhouse.generators.pose.pose_format import Pose
from renderhouse.generators.pose.retarget import retarget
from renderhouse.scene.gltf_accessors import AccessorReader
from renderhouse.scene.gltf_animation import local_transforms, world_transforms


def rig(tmp_path: Path, name: str, **options: object) -> Avatar:
    return load_avatar(build_mannequin(tmp_path / f"{name}.glb", MannequinOptions(**options)))


def posed_joints(avatar: Avatar, pose: Pose) -> dict[str, np.ndarray]:
    """Canonical bone → world position (metres, Y up, facing +Z) in ``pose``."""
    doc = avatar.model.doc
    reader = AccessorReader(doc, avatar.model.buffers)
    local, _ = local_transforms(doc, reader, None, 0.0, retarget(avatar, pose).overrides)
    world = world_transforms(doc, local, avatar.root)
    return {b: world[n][:3, 3] for b, n in avatar.bones.bones.items()}
