"""The pose format and the shipped pose library.

A pose is a set of local rotations on canonical humanoid bones (``skeleton.BONES``), each
relative to the reference pose (the VRM T-pose described in ``skeleton``), plus an offset of
the hips in units of the avatar's hips height (so a crouch drops any avatar by the same
fraction of its leg). Rotations are written either as ``{"euler": [x, y, z]}`` — degrees
about the bone's reference axes (+X the character's left, +Y up, +Z forward), applied Z
first, then Y, then X — or as ``{"quaternion": [x, y, z, w]}``; a bare list of three numbers is an
Euler triple. Bones the pose does not name stay as in the reference pose.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from renderhouse.errors import InvalidInput
from renderhouse.generators.pose import rotations as rot
from renderhouse.generators.pose.skeleton import BONES

LIBRARY_FILE = Path(__file__).with_name("library.json")
FORMAT = "renderhouse-pose/1"
MAX_HIPS_OFFSET = 2.0


@dataclass(frozen=True)
class Pose:
    name: str
    category: str = "custom"
    title: str = ""
    tags: tuple[str, ...] = ()
    rotations: dict[str, np.ndarray] = field(default_factory=dict)  # bone → quaternion
    hips_offset: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "category": self.category,
            "title": self.title,
            "tags": list(self.tags),
            "hips_offset": [round(float(v), 6) for v in self.hips_offset],
            "rotations": {
                b: {"quaternion": [round(float(v), 7) for v in q]}
                for b, q in self.rotations.items()
            },
        }


def _bad(message: str, **details: Any) -> InvalidInput:
    return InvalidInput(message, code="bad_pose", details=details)


def _rotation(bone: str, value: Any) -> np.ndarray:
    if isinstance(value, list):
        value = {"euler": value}
    if not isinstance(value, dict):
        raise _bad(f"the rotation of {bone} must be an Euler triple or a quaternion", bone=bone)
    if "euler" in value:
        e = value["euler"]
        if not (isinstance(e, list) and len(e) == 3 and all(_finite(v) for v in e)):
            raise _bad(f"{bone}: euler must be three numbers (degrees)", bone=bone)
        return rot.from_euler([float(v) for v in e])
    q = value.get("quaternion")
    if not (isinstance(q, list) and len(q) == 4 and all(_finite(v) for v in q)):
        raise _bad(f"{bone}: quaternion must be four numbers [x, y, z, w]", bone=bone)
    if np.linalg.norm(q) < 1e-6:
        raise _bad(f"{bone}: the quaternion has zero length", bone=bone)
    return rot.normalise(np.array(q, np.float64))


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def parse_pose(data: Any) -> Pose:
    """A pose from its JSON form; unknown bones are refused by name (``unknown_bone``)."""
    if not isinstance(data, dict):
        raise _bad("a pose must be a JSON object")
    name = str(data.get("name") or "custom")
    rotations = data.get("rotations") or {}
    if not isinstance(rotations, dict):
        raise _bad("rotations must map bone names to rotations")
    unknown = sorted(b for b in rotations if b not in BONES)
    if unknown:
        raise InvalidInput(
            f"pose {name!r} names unknown bones: {', '.join(unknown)}; use the VRM humanoid "
            "names (hips, spine, leftUpperArm, …)",
            code="unknown_bone",
            details={"bones": unknown},
        )
    offset = data.get("hips_offset", [0, 0, 0])
    if not (isinstance(offset, list) and len(offset) == 3 and all(_finite(v) for v in offset)):
        raise _bad("hips_offset must be three numbers (fractions of the hips height)")
    if max(abs(float(v)) for v in offset) > MAX_HIPS_OFFSET:
        raise _bad(f"hips_offset components must lie within ±{MAX_HIPS_OFFSET}")
    return Pose(
        name=name,
        category=str(data.get("category") or "custom"),
        title=str(data.get("title") or name.replace("-", " ").capitalize()),
        tags=tuple(str(t) for t in data.get("tags") or ()),
        rotations={b: _rotation(b, v) for b, v in rotations.items()},
        hips_offset=np.array(offset, np.float64),
    )


@cache
def library() -> dict[str, Pose]:
    """The shipped poses by name, in file order."""
    data = json.loads(LIBRARY_FILE.read_text())
    if data.get("format") != FORMAT:
        raise RuntimeError(f"{LIBRARY_FILE} is not a {FORMAT} file")
    return {p["name"]: parse_pose(p) for p in data["poses"]}


def categories() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for pose in library().values():
        out.setdefault(pose.category, []).append(pose.name)
    return out


def find_pose(name: str) -> Pose:
    poses = library()
    if name not in poses:
        close = [n for n in poses if name.lower() in n or n in name.lower()][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise InvalidInput(
            f"no pose named {name!r} in the library{hint} (`renderhouse pose --list` shows all)",
            code="unknown_pose",
            details={"pose": name},
        )
    return poses[name]
