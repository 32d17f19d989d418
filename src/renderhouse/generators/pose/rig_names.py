"""Joint names as common exporters write them, for building test rigs (the inverse of
``bone_map``): VRM names, Mixamo (``mixamorig:`` / ``mixamorig_``), Blender Rigify, and
meaningless numbered names that only a hand-written bone map can read."""

from __future__ import annotations

from collections.abc import Callable

from renderhouse.generators.pose.skeleton import PARENTS, side_and_part

NAMINGS: dict[str, Callable[[str], str]] = {}


def _mixamo_name(bone: str, sep: str) -> str:
    side, part = side_and_part(bone)
    table = {
        "hips": "Hips",
        "spine": "Spine",
        "chest": "Spine1",
        "upperChest": "Spine2",
        "neck": "Neck",
        "head": "Head",
        "Shoulder": "Shoulder",
        "UpperArm": "Arm",
        "LowerArm": "ForeArm",
        "Hand": "Hand",
        "UpperLeg": "UpLeg",
        "LowerLeg": "Leg",
        "Foot": "Foot",
        "Toes": "ToeBase",
    }
    fingers = {"Thumb": "Thumb", "Index": "Index", "Middle": "Middle", "Little": "Pinky"}
    for f, m in fingers.items():
        if part.startswith(f):
            seg = part[len(f) :]
            n = {"Metacarpal": 1, "Proximal": 1, "Intermediate": 2, "Distal": 3}[seg]
            n = {"Metacarpal": 1, "Proximal": 2, "Distal": 3}[seg] if f == "Thumb" else n
            part = f"Hand{m}{n}"
            break
    else:
        part = table[part]
    return f"mixamorig{sep}{side.capitalize()}{part}"


def _rigify_name(bone: str) -> str:
    side, part = side_and_part(bone)
    table = {
        "hips": "spine",
        "spine": "spine.001",
        "chest": "spine.002",
        "upperChest": "spine.003",
        "neck": "spine.004",
        "head": "spine.006",
        "Shoulder": "shoulder",
        "UpperArm": "upper_arm",
        "LowerArm": "forearm",
        "Hand": "hand",
        "UpperLeg": "thigh",
        "LowerLeg": "shin",
        "Foot": "foot",
        "Toes": "toe",
    }
    fingers = {"Thumb": "thumb", "Index": "f_index", "Middle": "f_middle", "Little": "f_pinky"}
    for f, m in fingers.items():
        if part.startswith(f):
            seg = part[len(f) :]
            n = {"Metacarpal": 1, "Proximal": 1, "Intermediate": 2, "Distal": 3}[seg]
            n = {"Metacarpal": 1, "Proximal": 2, "Distal": 3}[seg] if f == "Thumb" else n
            part = f"{m}.0{n}"
            break
    else:
        part = table[part]
    return f"DEF-{part}" + (f".{side[0].upper()}" if side else "")


NAMINGS.update(
    {
        "vrm": lambda b: b,
        "mixamo": lambda b: _mixamo_name(b, ":"),
        "mixamo_": lambda b: _mixamo_name(b, "_"),
        "rigify": _rigify_name,
        "numbered": lambda b: f"Bone.{list(PARENTS).index(b):03d}",  # nothing to go by
    }
)
