"""The same pose on rigs that differ in naming, rest pose, bone roll, units, up axis and
proportions gives the same world-space bone directions (within 2°)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from renderhouse.generators.pose import rotations as rot
from renderhouse.generators.pose.pose_format import library, parse_pose
from renderhouse.generators.pose.skeleton import AIMS
from tests.pose.rigs import posed_joints, rig

RIGS = {
    "vrm-t": {},
    "mixamo-a-cm-zup-roll": dict(
        naming="mixamo", rest="A", roll=60, aim_axes=True, unit_scale=100, z_up=True
    ),
    "rigify-a-long-arms": dict(naming="rigify", rest="A", arm=1.25, leg=0.85, roll=25),
    "mixamo_-two-sets": dict(naming="mixamo_", aim_axes=True, influence_sets=2, arm=0.8),
}
POSES = ["stand-relaxed", "sit-chair", "run-stride", "fighting-stance", "fashion-over-shoulder"]


def _directions(joints: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    out = {}
    for bone, (children, _) in AIMS.items():
        child = next((c for c in children if c in joints), None)
        if bone in joints and child is not None:
            out[bone] = joints[child] - joints[bone]
    return out


@pytest.fixture(scope="module")
def rigs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("rigs")
    return {name: rig(tmp, name, **opts) for name, opts in RIGS.items()}


def test_the_test_rigs_really_differ(rigs: dict) -> None:
    t, a = rigs["vrm-t"], rigs["mixamo-a-cm-zup-roll"]
    assert a.bones.scheme == "mixamo" and a.unit_scale == 0.01 and a.up_axis == "+z"
    assert rigs["rigify-a-long-arms"].bones.scheme == "rigify"
    # rest poses differ: the A-pose rig's upper arm points 45° down before retargeting
    ta = t.model.doc["nodes"][t.bones.bones["leftLowerArm"]]["translation"]
    assert ta[1] == pytest.approx(0, abs=1e-6)
    assert a.bones.names["leftUpperArm"] == "mixamorig:LeftArm"


@pytest.mark.parametrize("pose_name", POSES)
def test_same_pose_same_bone_directions_on_every_rig(rigs: dict, pose_name: str) -> None:
    pose = library()[pose_name]
    dirs = {name: _directions(posed_joints(avatar, pose)) for name, avatar in rigs.items()}
    base = dirs["vrm-t"]
    assert len(base) >= 20
    for name, d in dirs.items():
        for bone, v in base.items():
            if bone in d:
                angle = rot.angle_degrees(v, d[bone])
                assert angle < 2.0, f"{pose_name}: {bone} on {name} is off by {angle:.2f}°"


def test_directions_follow_the_pose_definition(rigs: dict) -> None:
    """Check absolute directions too: in the reference T-pose the left arm points +X on
    the A-pose rig; lowering it 75° about Z points it 75° down."""
    a_rig = rigs["mixamo-a-cm-zup-roll"]
    t_dirs = _directions(posed_joints(a_rig, library()["t-pose"]))
    assert rot.angle_degrees(t_dirs["leftUpperArm"], [1, 0, 0]) < 0.5
    assert rot.angle_degrees(t_dirs["rightLowerArm"], [-1, 0, 0]) < 0.5
    assert rot.angle_degrees(t_dirs["leftUpperLeg"], [0, -1, 0]) < 0.5
    down = parse_pose({"name": "x", "rotations": {"leftUpperArm": [0, 0, -75]}})
    d = _directions(posed_joints(a_rig, down))["leftUpperArm"]
    expected = [np.cos(np.radians(75)), -np.sin(np.radians(75)), 0]
    assert rot.angle_degrees(d, expected) < 0.5


def test_hips_offset_scales_with_the_avatar(rigs: dict) -> None:
    drop = parse_pose({"name": "drop", "hips_offset": [0, -0.5, 0]})
    for avatar in rigs.values():
        rest = posed_joints(avatar, library()["t-pose"])["hips"]
        low = posed_joints(avatar, drop)["hips"]
        assert low[1] - rest[1] == pytest.approx(-0.5 * avatar.hips_height, rel=1e-4)


def test_missing_optional_bones_degrade_gracefully(tmp_path: Path) -> None:
    full = rig(tmp_path, "full")
    bare = rig(tmp_path, "bare", fingers=False, toes=False, naming="rigify")
    assert "leftIndexProximal" not in bare.bones.bones and "leftToes" not in bare.bones.bones
    for name in ("run-stride", "thumbs-up", "tiptoe"):  # poses that move fingers and feet
        pose = library()[name]
        a, b = _directions(posed_joints(full, pose)), _directions(posed_joints(bare, pose))
        for bone, v in b.items():
            if bone != "leftHand" and bone != "rightHand":  # aims at a finger the bare rig lacks
                assert rot.angle_degrees(v, a[bone]) < 2.0, (name, bone)


def test_a_missing_chest_still_bends_by_the_chest_amount(tmp_path: Path) -> None:
    """The chest's rotation is folded into the next present bone."""
    avatar = rig(tmp_path, "m")
    del avatar.bones.bones["chest"]
    pose = parse_pose({"name": "bow", "rotations": {"chest": [40, 0, 0]}})
    d = _directions(posed_joints(avatar, pose))
    assert rot.angle_degrees(d["neck"], [0, np.cos(np.radians(40)), np.sin(np.radians(40))]) < 1
