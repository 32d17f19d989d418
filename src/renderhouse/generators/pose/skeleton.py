"""The canonical humanoid: the VRM 1.0 humanoid bone set (VRMC_vrm ``humanoid.humanBones``),
its hierarchy, and the reference pose every library pose is written against.

Reference pose (the VRM 1.0 T-pose): the character stands facing +Z with +Y up, so its left
is +X; arms straight out sideways, palms down, legs straight down. In the reference pose each
canonical bone's frame is aligned with the world axes, so a pose's local rotation on a bone
means the same thing on every rig (VRM's "normalized" bones).
"""

from __future__ import annotations

from collections.abc import Container

import numpy as np

SIDES = ("left", "right")
FINGERS = ("Thumb", "Index", "Middle", "Ring", "Little")
FINGER_SEGMENTS = {
    "Thumb": ("Metacarpal", "Proximal", "Distal"),
    **{f: ("Proximal", "Intermediate", "Distal") for f in FINGERS[1:]},
}

#: canonical bone → parent canonical bone (the nearest present ancestor is used when the
#: parent itself is missing: chest, upperChest, neck and shoulders are optional in VRM).
PARENTS: dict[str, str | None] = {
    "hips": None,
    "spine": "hips",
    "chest": "spine",
    "upperChest": "chest",
    "neck": "upperChest",
    "head": "neck",
    "leftEye": "head",
    "rightEye": "head",
    "jaw": "head",
}
for _s in SIDES:
    PARENTS.update(
        {
            f"{_s}UpperLeg": "hips",
            f"{_s}LowerLeg": f"{_s}UpperLeg",
            f"{_s}Foot": f"{_s}LowerLeg",
            f"{_s}Toes": f"{_s}Foot",
            f"{_s}Shoulder": "upperChest",
            f"{_s}UpperArm": f"{_s}Shoulder",
            f"{_s}LowerArm": f"{_s}UpperArm",
            f"{_s}Hand": f"{_s}LowerArm",
        }
    )
    for _f, _segs in FINGER_SEGMENTS.items():
        _parent = f"{_s}Hand"
        for _seg in _segs:
            PARENTS[f"{_s}{_f}{_seg}"] = _parent
            _parent = f"{_s}{_f}{_seg}"

BONES: tuple[str, ...] = tuple(PARENTS)
REQUIRED: tuple[str, ...] = (
    "hips",
    "spine",
    "head",
    *(f"{s}{b}" for s in SIDES for b in ("UpperLeg", "LowerLeg", "Foot")),
    *(f"{s}{b}" for s in SIDES for b in ("UpperArm", "LowerArm", "Hand")),
)
"""VRM 1.0's required humanoid bones: a rig without them is not a humanoid we can pose."""

_UP, _DOWN = np.array([0.0, 1.0, 0.0]), np.array([0.0, -1.0, 0.0])
_LEFT, _RIGHT = np.array([1.0, 0.0, 0.0]), np.array([-1.0, 0.0, 0.0])

#: bone → (children to aim at, first present wins; the bone's direction in the reference
#: pose). Bones not listed (head, feet, toes, eyes, jaw, thumbs) keep their rest direction:
#: rigs disagree on where those point, and no pose needs them re-aimed.
AIMS: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
    "hips": (("spine",), _UP),
    "spine": (("chest", "upperChest", "neck", "head"), _UP),
    "chest": (("upperChest", "neck", "head"), _UP),
    "upperChest": (("neck", "head"), _UP),
    "neck": (("head",), _UP),
}
for _s, _out in (("left", _LEFT), ("right", _RIGHT)):
    AIMS.update(
        {
            f"{_s}UpperLeg": ((f"{_s}LowerLeg",), _DOWN),
            f"{_s}LowerLeg": ((f"{_s}Foot",), _DOWN),
            f"{_s}Shoulder": ((f"{_s}UpperArm",), _out),
            f"{_s}UpperArm": ((f"{_s}LowerArm",), _out),
            f"{_s}LowerArm": ((f"{_s}Hand",), _out),
            f"{_s}Hand": ((f"{_s}MiddleProximal", f"{_s}IndexProximal"), _out),
        }
    )
    for _f in FINGERS[1:]:
        AIMS[f"{_s}{_f}Proximal"] = ((f"{_s}{_f}Intermediate",), _out)
        AIMS[f"{_s}{_f}Intermediate"] = ((f"{_s}{_f}Distal",), _out)


def present_parent(bone: str, mapped: Container[str]) -> str | None:
    """The nearest ancestor of ``bone`` in the canonical hierarchy that the rig has."""
    parent = PARENTS[bone]
    while parent is not None and parent not in mapped:
        parent = PARENTS[parent]
    return parent


def side_and_part(bone: str) -> tuple[str, str]:
    """("left" | "right" | "", the rest): leftUpperArm → ("left", "UpperArm")."""
    for side in SIDES:
        if bone.startswith(side):
            return side, bone[len(side) :]
    return "", bone


def mirror(bone: str) -> str:
    """leftX ↔ rightX; centre bones are their own mirror."""
    if bone.startswith("left"):
        return "right" + bone[4:]
    if bone.startswith("right"):
        return "left" + bone[5:]
    return bone
