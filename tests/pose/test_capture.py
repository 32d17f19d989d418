"""Poses captured from an avatar (its stored pose, or a clip at a time) go onto other
avatars with the same bone directions; the bind pose comes from the skin, not the nodes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from renderhouse.errors import InvalidInput
from renderhouse.generators.pose import rotations as rot
from renderhouse.generators.pose.avatar import load_avatar
from renderhouse.generators.pose.capture import capture_pose
from renderhouse.generators.pose.mannequin import MannequinOptions, build_mannequin
from renderhouse.generators.pose.pose_format import library
from renderhouse.generators.pose.posed_glb import posed_glb
from renderhouse.generators.pose.retarget import retarget
from renderhouse.scene.gltf_accessors import AccessorReader
from renderhouse.scene.gltf_animation import local_transforms, world_transforms
from tests.pose.rigs import posed_joints, rig
from tests.pose.test_retarget import _directions
from tests.pose.tiny_gltf import add_clip

MIXAMO = dict(naming="mixamo", rest="A", unit_scale=100, z_up=True, roll=40, aim_axes=True)


def _assert_same_directions(a: dict, b: dict, what: str) -> None:
    common = set(a) & set(b)
    assert len(common) >= 20
    for bone in common:
        angle = rot.angle_degrees(a[bone], b[bone])
        assert angle < 2.0, f"{what}: {bone} off by {angle:.2f}°"


@pytest.mark.parametrize("pose_name", ["sit-chair", "fighting-stance", "wave-left"])
def test_a_posed_glb_captures_back_to_the_pose(tmp_path: Path, pose_name: str) -> None:
    """Pose rig B, save it posed (node TRS changed, skin untouched), load that file as an
    avatar — its bind pose still comes from the skin — capture, and put the capture on rig A:
    A's bones point where the original pose puts them."""
    pose = library()[pose_name]
    b = rig(tmp_path, "b", **MIXAMO)
    posed_file = tmp_path / "posed.glb"
    posed_file.write_bytes(posed_glb(b, retarget(b, pose).overrides))
    reloaded = load_avatar(posed_file)
    assert reloaded.unit_scale == b.unit_scale and reloaded.up_axis == b.up_axis
    captured = capture_pose(reloaded, name="again")
    a = rig(tmp_path, "a")
    _assert_same_directions(
        _directions(posed_joints(a, pose)), _directions(posed_joints(a, captured)), pose_name
    )
    assert np.allclose(captured.hips_offset, pose.hips_offset, atol=1e-4)


def test_the_rest_pose_captures_as_the_reference_pose(tmp_path: Path) -> None:
    """An A-pose rig's stored pose is its own bind pose: captured, it is the A-pose relative
    to the T-pose reference (arms 45° down), not nothing."""
    captured = capture_pose(rig(tmp_path, "b", **MIXAMO))
    arm = rot.rotate(captured.rotations["leftUpperArm"], np.array([1.0, 0, 0]))
    assert rot.angle_degrees(arm, [1, -1, 0]) < 0.5
    assert "leftLowerArm" not in captured.rotations  # straight elbows: nothing to record


def test_a_clip_at_a_time(tmp_path: Path) -> None:
    base = build_mannequin(tmp_path / "m.glb", MannequinOptions(naming="mixamo_"))
    raise_arm = rot.from_axis_angle(np.array([0, 0, 1.0]), 80)
    bend = rot.from_axis_angle(np.array([1.0, 0, 0]), -70)
    clip = add_clip(
        base,
        tmp_path / "clip.glb",
        "Wave",
        {
            "mixamorig_LeftArm": ([0.0, 2.0], [[0, 0, 0, 1], list(raise_arm)]),
            "mixamorig_RightUpLeg": ([0.0, 1.0, 2.0], [[0, 0, 0, 1], list(bend), list(bend)]),
        },
    )
    source = load_avatar(clip)
    captured = capture_pose(source, "Wave", 1.0)
    # the source's own bones at t = 1 s, sampled by the renderer's animation code
    doc = source.model.doc
    local, _ = local_transforms(doc, AccessorReader(doc, source.model.buffers), 0, 1.0)
    world = world_transforms(doc, local, source.root)
    source_joints = {b: world[n][:3, 3] for b, n in source.bones.bones.items()}
    target = rig(tmp_path, "t", rest="A", roll=30, aim_axes=True)
    _assert_same_directions(
        _directions(source_joints), _directions(posed_joints(target, captured)), "clip"
    )
    up = rot.rotate(captured.rotations["leftUpperArm"], np.array([1.0, 0, 0]))
    assert rot.angle_degrees(up, [np.cos(np.radians(40)), np.sin(np.radians(40)), 0]) < 0.5


def test_clip_errors(tmp_path: Path) -> None:
    base = build_mannequin(tmp_path / "m.glb")
    q = list(rot.from_axis_angle(np.array([0, 0, 1.0]), 30))
    avatar = load_avatar(add_clip(base, tmp_path / "c.glb", "Nod", {"head": ([0, 1.5], [q, q])}))
    with pytest.raises(InvalidInput) as exc:
        capture_pose(avatar, "Nod", 2.0)
    assert exc.value.code == "bad_clip_time" and "1.5" in exc.value.message
    with pytest.raises(InvalidInput) as exc:
        capture_pose(avatar, "Dance", 0.0)
    assert exc.value.code == "unknown_clip" and exc.value.details["clips"] == ["Nod"]
    captured = capture_pose(avatar, 0, 1.5).rotations
    angles = {b: np.degrees(2 * np.arccos(min(1.0, abs(q[3])))) for b, q in captured.items()}
    assert angles.pop("head") == pytest.approx(30, abs=0.01)
    assert max(angles.values()) < 3  # the mannequin's knees are bent 1.4° in its rest pose
