"""Map a rig's joint names onto canonical humanoid bones (``skeleton.BONES``).

An explicit VRM mapping (``VRMC_vrm`` or VRM 0.x ``VRM`` extension) wins; otherwise names
are matched by naming scheme: Mixamo (``mixamorig:LeftArm``, ``mixamorig_LeftArm``),
Blender/Rigify (``DEF-upper_arm.L``, ``thigh.R``), VRoid (``J_Bip_L_UpperArm``), the
Khronos sample rigs (``arm_joint_L_1``) and common generic names (``clavicle_l``,
``upperarm_l``, ``LeftUpperArm``). The caller may override any entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from renderhouse.generators.pose.skeleton import BONES, FINGER_SEGMENTS

_MIXAMO_BASE = {
    "hips": "hips",
    "spine": "spine",
    "spine1": "chest",
    "spine2": "upperChest",
    "neck": "neck",
    "head": "head",
    "shoulder": "Shoulder",
    "arm": "UpperArm",
    "forearm": "LowerArm",
    "hand": "Hand",
    "upleg": "UpperLeg",
    "leg": "LowerLeg",
    "foot": "Foot",
    "toebase": "Toes",
}
_MIXAMO_FINGERS = {
    "thumb": ("Thumb", ("Metacarpal", "Proximal", "Distal")),
    "index": ("Index", ("Proximal", "Intermediate", "Distal")),
    "middle": ("Middle", ("Proximal", "Intermediate", "Distal")),
    "ring": ("Ring", ("Proximal", "Intermediate", "Distal")),
    "pinky": ("Little", ("Proximal", "Intermediate", "Distal")),
}
_RIGIFY_BASE = {
    "spine": "hips",
    "spine001": "spine",
    "spine002": "chest",
    "spine003": "upperChest",
    "spine004": "neck",
    "spine006": "head",
    "shoulder": "Shoulder",
    "upperarm": "UpperArm",
    "forearm": "LowerArm",
    "hand": "Hand",
    "thigh": "UpperLeg",
    "shin": "LowerLeg",
    "foot": "Foot",
    "toe": "Toes",
}
_GENERIC_BASE = {
    **{b.lower(): b for b in ("hips", "spine", "chest", "upperChest", "neck", "head", "jaw")},
    "pelvis": "hips",
    "hip": "hips",
    "spine01": "spine",
    "spine02": "chest",
    "spine03": "upperChest",
    "abdomen": "spine",
    "neck01": "neck",
    "eye": "Eye",
    "shoulder": "Shoulder",
    "clavicle": "Shoulder",
    "collar": "Shoulder",
    "upperarm": "UpperArm",
    "uparm": "UpperArm",
    "lowerarm": "LowerArm",
    "forearm": "LowerArm",
    "hand": "Hand",
    "upperleg": "UpperLeg",
    "thigh": "UpperLeg",
    "upleg": "UpperLeg",
    "lowerleg": "LowerLeg",
    "calf": "LowerLeg",
    "shin": "LowerLeg",
    "knee": "LowerLeg",
    "foot": "Foot",
    "ankle": "Foot",
    "toes": "Toes",
    "toe": "Toes",
    "toebase": "Toes",
    "ball": "Toes",
}
_KHRONOS = {
    "torsojoint1": "hips",
    "torsojoint2": "spine",
    "torsojoint3": "chest",
    "neckjoint1": "neck",
    "neckjoint2": "head",
    "armjoint{s}1": "{S}UpperArm",
    "armjoint{s}2": "{S}LowerArm",
    "armjoint{s}3": "{S}Hand",
    "legjoint{s}1": "{S}UpperLeg",
    "legjoint{s}2": "{S}LowerLeg",
    "legjoint{s}3": "{S}Foot",
    "legjoint{s}5": "{S}Toes",
}

_SIDE_PREFIX = re.compile(r"^(left|right)(?=[a-z0-9]|[_.\- ])[_.\- ]?|^([lr])[_.\- ]", re.I)
_SIDE_SUFFIX = re.compile(r"[_.\- ](left|right|[lr])(?=$|[_.\- ]\d+$|\d+$)", re.I)
_CAMEL_SIDE = re.compile(r"^(Left|Right)(?=[A-Z])")


@dataclass
class BoneMap:
    """Canonical bone → node index, with how it was found (shown to the user)."""

    bones: dict[str, int]
    scheme: str
    names: dict[str, str] = field(default_factory=dict)  # canonical → node name

    def as_dict(self) -> dict[str, Any]:
        return {"scheme": self.scheme, "bones": dict(self.names)}


def _strip(name: str) -> str:
    name = re.split(r"[:|]", name)[-1]
    name = re.sub(r"^mixamorig\d*_?", "", name, flags=re.I)
    name = re.sub(r"^(DEF|ORG|MCH)[-_]", "", name)
    name = re.sub(r"^J_(Bip|Adj|Sec)_", "", name)
    name = re.sub(r"^(Skeleton_|Armature_|b_)", "", name)
    return name


def split_side(name: str) -> tuple[str | None, str]:
    """("left" | "right" | None, the rest of the name lower-cased, letters and digits only)."""
    name = _strip(name)
    side = None
    m = _CAMEL_SIDE.match(name) or _SIDE_PREFIX.match(name)
    if m:
        token = (m.group(1) or m.group(2) or "").lower()
        side = "left" if token.startswith("l") else "right"
        name = name[m.end() :]
    else:
        m2 = _SIDE_SUFFIX.search(name)
        if m2:
            side = "left" if m2.group(1).lower().startswith("l") else "right"
            name = name[: m2.start()] + name[m2.end() :]
    name = re.sub(r"^C_", "", name)  # VRoid's centre marker
    return side, re.sub(r"[^a-z0-9]", "", name.lower())


def _canonical(side: str | None, part: str) -> str | None:
    if part[:1].islower():  # a centre bone
        return part if side is None and part in BONES else None
    if side is None:
        return None
    bone = side + part
    return bone if bone in BONES else None


def _mixamo(side: str | None, base: str) -> str | None:
    if base.startswith("hand"):
        m = re.fullmatch(r"hand(thumb|index|middle|ring|pinky)([1-3])", base)
        if m:
            finger, segs = _MIXAMO_FINGERS[m.group(1)]
            return _canonical(side, finger + segs[int(m.group(2)) - 1])
    part = _MIXAMO_BASE.get(base)
    return _canonical(side, part) if part else None


def _rigify(side: str | None, base: str) -> str | None:
    m = re.fullmatch(r"(?:f)?(thumb|index|middle|ring|pinky)0?([1-3])", base)
    if m:
        finger, segs = _MIXAMO_FINGERS[m.group(1)]
        return _canonical(side, finger + segs[int(m.group(2)) - 1])
    part = _RIGIFY_BASE.get(base)
    return _canonical(side, part) if part else None


def _generic(side: str | None, base: str) -> str | None:
    for finger, segs in FINGER_SEGMENTS.items():
        for seg in segs:
            if base == (finger + seg).lower():
                return _canonical(side, finger + seg)
    part = _GENERIC_BASE.get(base)
    return _canonical(side, part) if part else None


def _khronos(name: str) -> str | None:
    key = re.sub(r"[^a-z0-9]", "", re.sub(r"^Skeleton_", "", name).lower())
    for pattern, bone in _KHRONOS.items():
        for s, side in (("l", "left"), ("r", "right")):
            if key == pattern.replace("{s}", s):
                return bone.replace("{S}", side)
    return None


def _vrm_extension(doc: dict[str, Any]) -> dict[str, int]:
    ext = doc.get("extensions") or {}
    vrm1 = ((ext.get("VRMC_vrm") or {}).get("humanoid") or {}).get("humanBones") or {}
    if isinstance(vrm1, dict) and vrm1:
        return {b: v["node"] for b, v in vrm1.items() if isinstance(v, dict) and "node" in v}
    vrm0 = ((ext.get("VRM") or {}).get("humanoid") or {}).get("humanBones") or []
    out = {}
    for entry in vrm0 if isinstance(vrm0, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("node"), int):
            bone = str(entry.get("bone", ""))
            out[bone.replace("Thumb" + "Intermediate", "ThumbProximal")] = entry["node"]
    return out


def detect_scheme(names: list[str]) -> str:
    lowered = [n.lower() for n in names]
    if any(n.startswith("mixamorig") for n in lowered):
        return "mixamo"
    if any(n.startswith(("def-", "org-")) or re.search(r"spine\.00\d", n) for n in lowered):
        return "rigify"
    if any(n.startswith("j_bip_") for n in lowered):
        return "vroid"
    if any("torso_joint" in n or "leg_joint" in n for n in lowered):
        return "khronos"
    return "generic"


def map_bones(
    doc: dict[str, Any], joints: list[int], overrides: dict[str, str] | None = None
) -> BoneMap:
    """Canonical bone → node index for the joints of one skin (first match wins)."""
    nodes = doc.get("nodes") or []
    names = {j: str(nodes[j].get("name", "")) for j in joints if 0 <= j < len(nodes)}
    found: dict[str, int] = {}
    vrm = {b: n for b, n in _vrm_extension(doc).items() if b in BONES and n in names}
    if vrm:
        found, scheme = vrm, "vrm"
    else:
        scheme = detect_scheme(list(names.values()))
        for j, name in names.items():
            if scheme == "khronos":
                bone = _khronos(name)
            else:
                side, base = split_side(name)
                if scheme == "rigify" and re.search(r"\.\d{3}$", name) and "spine" not in name:
                    continue  # a Rigify segment (upper_arm.L.001): the first one is the bone
                match = {"mixamo": _mixamo, "rigify": _rigify}.get(scheme, _generic)
                bone = match(side, base) or _generic(side, base)
            if bone is not None and bone not in found:
                found[bone] = j
    by_name = {n: j for j, n in names.items()}
    for bone, node_name in (overrides or {}).items():
        found[bone] = by_name[node_name]
    return BoneMap(found, scheme, {b: names[j] for b, j in found.items()})
