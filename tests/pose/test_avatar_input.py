"""Bad avatars and bad pose requests are refused with a code and a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from renderhouse.errors import InvalidInput, ModelError
from renderhouse.generators.pose import PoseGenerator
from renderhouse.generators.pose.avatar import load_avatar
from renderhouse.generators.pose.mannequin import MannequinOptions, build_mannequin
from renderhouse.generators.pose.pose_format import categories, find_pose, library, parse_pose
from renderhouse.generators.pose.skeleton import PARENTS
from tests.pose.tiny_gltf import scale_weights

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def _code(exc: pytest.ExceptionInfo) -> str:
    return exc.value.code


def test_a_model_without_a_skin(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as exc:
        load_avatar(ASSETS / "BoomBox.glb")
    assert _code(exc) == "no_skin" and "armature" in exc.value.message


def test_a_skinned_model_that_is_not_a_humanoid() -> None:
    with pytest.raises(ModelError) as exc:
        load_avatar(ASSETS / "Fox.glb")
    assert _code(exc) == "not_humanoid"
    assert "leftUpperArm" in exc.value.details["missing"]
    assert "bone map" in exc.value.message


def test_broken_weights(tmp_path: Path) -> None:
    good = build_mannequin(tmp_path / "m.glb")
    bad = scale_weights(good, tmp_path / "bad.glb", 0.6)
    with pytest.raises(ModelError) as exc:
        load_avatar(bad)
    assert _code(exc) == "bad_weights" and "normalise" in exc.value.message
    assert exc.value.details["vertices"] > 1000


def test_bone_map_overrides_are_checked(tmp_path: Path) -> None:
    path = build_mannequin(tmp_path / "m.glb")
    with pytest.raises(ModelError) as exc:
        load_avatar(path, bone_overrides={"leftWing": "leftUpperArm"})
    assert _code(exc) == "unknown_bone"
    with pytest.raises(ModelError) as exc:
        load_avatar(path, bone_overrides={"head": "NoSuchJoint"})
    assert _code(exc) == "unknown_bone"
    swapped = load_avatar(path, bone_overrides={"head": "neck"})
    assert swapped.bones.names["head"] == "neck"


def test_a_rig_whose_names_cannot_be_mapped_can_be_mapped_by_hand(tmp_path: Path) -> None:
    path = build_mannequin(tmp_path / "m.glb", MannequinOptions(naming="numbered"))
    with pytest.raises(ModelError) as exc:
        load_avatar(path)
    assert _code(exc) == "not_humanoid" and "hips" in exc.value.details["missing"]
    reference = load_avatar(build_mannequin(tmp_path / "ref.glb"))
    by_hand = {b: f"Bone.{list(PARENTS).index(b):03d}" for b in reference.bones.bones}
    avatar = load_avatar(path, bone_overrides=by_hand)
    assert avatar.bones.bones == reference.bones.bones


def test_a_pose_naming_unknown_bones() -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_pose({"name": "x", "rotations": {"tail": [0, 0, 10], "hips": [0, 1, 0]}})
    assert _code(exc) == "unknown_bone" and exc.value.details["bones"] == ["tail"]
    for bad in ({"hips": [0, 1]}, {"hips": {"quaternion": [0, 0, 0, 0]}}, {"hips": "up"}):
        with pytest.raises(InvalidInput) as exc:
            parse_pose({"name": "x", "rotations": bad})
        assert _code(exc) == "bad_pose"
    with pytest.raises(InvalidInput) as exc:
        parse_pose({"name": "x", "hips_offset": [0, float("nan"), 0]})
    assert _code(exc) == "bad_pose"


def test_an_unknown_pose_name_suggests_close_ones() -> None:
    with pytest.raises(InvalidInput) as exc:
        find_pose("wave")
    assert _code(exc) == "unknown_pose" and "wave-left" in exc.value.message


def test_batch_limits_and_empty_batches() -> None:
    gen = PoseGenerator()
    with pytest.raises(InvalidInput) as exc:
        gen.parse_input({"avatar": "a.glb", "poses": ["t-pose"] * 17})
    assert _code(exc) == "batch_too_large" and exc.value.details["limit"] == 16
    with pytest.raises(InvalidInput) as exc:
        gen.parse_input({"avatar": "a.glb"})
    assert _code(exc) == "no_poses"
    with pytest.raises(InvalidInput):
        gen.parse_input({"avatar": "a.glb", "poses": ["t-pose"], "size": 10_000})


def test_cost_is_per_pose() -> None:
    gen = PoseGenerator()
    four = gen.parse_input({"avatar": "a.glb", "poses": ["t-pose", "a-pose", "crouch", "clap"]})
    assert gen.estimate_cost(four) == 4
    big = gen.parse_input({"avatar": "a.glb", "poses": ["t-pose", "clap"], "size": 2048})
    assert gen.estimate_cost(big) == 4


def test_the_library_has_forty_poses_in_categories() -> None:
    poses = library()
    assert len(poses) >= 40
    cats = categories()
    assert {"standing", "sitting", "walking", "action", "gestures", "fashion"} <= set(cats)
    assert all(len(names) >= 5 for names in cats.values())
    # every library pose survives its own JSON form (what GET /v1/poses would serve)
    for pose in poses.values():
        again = parse_pose(pose.as_dict())
        assert again.rotations.keys() == pose.rotations.keys()
