"""Joint names from common naming schemes map onto canonical VRM humanoid bones."""

from __future__ import annotations

import pytest

from renderhouse.generators.pose.bone_map import detect_scheme, map_bones, split_side


def _doc(names: list[str], extensions: dict | None = None) -> dict:
    return {"nodes": [{"name": n} for n in names], "extensions": extensions or {}}


def _mapped(names: list[str]) -> dict[str, str]:
    bm = map_bones(_doc(names), list(range(len(names))))
    return {b: names[i] for b, i in bm.bones.items()}


@pytest.mark.parametrize(
    ("names", "scheme", "expected"),
    [
        (
            ["mixamorig:Hips", "mixamorig:Spine", "mixamorig:Spine1", "mixamorig:Spine2",
             "mixamorig:LeftArm", "mixamorig:LeftForeArm", "mixamorig:RightUpLeg",
             "mixamorig:RightLeg", "mixamorig:LeftHandIndex2", "mixamorig:LeftHandThumb1",
             "mixamorig:LeftToeBase"],
            "mixamo",
            {"hips": "mixamorig:Hips", "spine": "mixamorig:Spine", "chest": "mixamorig:Spine1",
             "upperChest": "mixamorig:Spine2", "leftUpperArm": "mixamorig:LeftArm",
             "leftLowerArm": "mixamorig:LeftForeArm", "rightUpperLeg": "mixamorig:RightUpLeg",
             "rightLowerLeg": "mixamorig:RightLeg",
             "leftIndexIntermediate": "mixamorig:LeftHandIndex2",
             "leftThumbMetacarpal": "mixamorig:LeftHandThumb1",
             "leftToes": "mixamorig:LeftToeBase"},
        ),
        (
            ["mixamorig_Hips", "mixamorig_LeftShoulder", "mixamorig_RightHand"],
            "mixamo",
            {"hips": "mixamorig_Hips", "leftShoulder": "mixamorig_LeftShoulder",
             "rightHand": "mixamorig_RightHand"},
        ),
        (
            ["DEF-spine", "DEF-spine.001", "DEF-spine.006", "DEF-upper_arm.L",
             "DEF-upper_arm.L.001", "DEF-forearm.R", "DEF-thigh.L", "DEF-shin.R",
             "DEF-f_index.02.L", "DEF-shoulder.R"],
            "rigify",
            {"hips": "DEF-spine", "spine": "DEF-spine.001", "head": "DEF-spine.006",
             "leftUpperArm": "DEF-upper_arm.L", "rightLowerArm": "DEF-forearm.R",
             "leftUpperLeg": "DEF-thigh.L", "rightLowerLeg": "DEF-shin.R",
             "leftIndexIntermediate": "DEF-f_index.02.L", "rightShoulder": "DEF-shoulder.R"},
        ),
        (
            ["J_Bip_C_Hips", "J_Bip_L_UpperArm", "J_Bip_R_LowerLeg", "J_Bip_C_Head"],
            "vroid",
            {"hips": "J_Bip_C_Hips", "leftUpperArm": "J_Bip_L_UpperArm",
             "rightLowerLeg": "J_Bip_R_LowerLeg", "head": "J_Bip_C_Head"},
        ),
        (
            ["pelvis", "spine_01", "spine_02", "clavicle_l", "upperarm_r", "lowerarm_l",
             "thigh_r", "calf_l", "ball_r", "neck_01"],
            "generic",
            {"hips": "pelvis", "spine": "spine_01", "chest": "spine_02",
             "leftShoulder": "clavicle_l", "rightUpperArm": "upperarm_r",
             "leftLowerArm": "lowerarm_l", "rightUpperLeg": "thigh_r",
             "leftLowerLeg": "calf_l", "rightToes": "ball_r", "neck": "neck_01"},
        ),
        (
            ["Hips", "LeftUpperArm", "rightHand", "upper_arm.R", "Left_Foot"],
            "generic",
            {"hips": "Hips", "leftUpperArm": "LeftUpperArm", "rightHand": "rightHand",
             "rightUpperArm": "upper_arm.R", "leftFoot": "Left_Foot"},
        ),
        (
            ["Skeleton_torso_joint_1", "torso_joint_2", "neck_joint_2", "arm_joint_L_1",
             "leg_joint_R_2", "leg_joint_L_5"],
            "khronos",
            {"hips": "Skeleton_torso_joint_1", "spine": "torso_joint_2",
             "head": "neck_joint_2", "leftUpperArm": "arm_joint_L_1",
             "rightLowerLeg": "leg_joint_R_2", "leftToes": "leg_joint_L_5"},
        ),
    ],
    ids=["mixamo-colon", "mixamo-underscore", "rigify", "vroid", "unreal-like", "mixed", "khronos"],
)  # fmt: skip
def test_naming_schemes(names: list[str], scheme: str, expected: dict[str, str]) -> None:
    assert detect_scheme(names) == scheme
    assert _mapped(names) == expected


def test_a_vrm_extension_mapping_wins_over_names() -> None:
    doc = _doc(
        ["LeftArm", "whatever", "bone7"],
        {"VRMC_vrm": {"humanoid": {"humanBones": {"hips": {"node": 1}, "head": {"node": 2}}}}},
    )
    bm = map_bones(doc, [0, 1, 2])
    assert bm.scheme == "vrm" and bm.bones == {"hips": 1, "head": 2}
    vrm0 = _doc(["a", "b"], {"VRM": {"humanoid": {"humanBones": [{"bone": "hips", "node": 0}]}}})
    assert map_bones(vrm0, [0, 1]).bones == {"hips": 0}


def test_overrides_replace_automatic_entries() -> None:
    names = ["Hips", "Bone.003"]
    bm = map_bones(_doc(names), [0, 1], overrides={"head": "Bone.003"})
    assert bm.bones == {"hips": 0, "head": 1}
    assert bm.as_dict() == {"scheme": "generic", "bones": {"hips": "Hips", "head": "Bone.003"}}


def test_side_words_are_not_found_inside_other_words() -> None:
    assert split_side("leg") == (None, "leg")
    assert split_side("rib") == (None, "rib")
    assert split_side("hand.L") == ("left", "hand")
