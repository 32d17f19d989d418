"""A procedural rigged mannequin (our own work, CC0): the neutral avatar the pose library's
thumbnails are rendered on, the example in ``examples/avatars/``, and — through its options
— the test rigs with other naming schemes, rest poses, bone rolls, units and up axes.

Every body part is a tapered tube (or a sphere for the head) around one bone, skinned
rigidly to that bone except near its start, where weights blend linearly into the parent
bone so joints bend smoothly. Built with pygltflib; glTF 2.0 §3.7.3 ("Skins") is followed:
inverse bind matrices are the inverses of the joints' world matrices in the bind pose.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from renderhouse.generators.pose import rotations as rot
from renderhouse.generators.pose.mannequin_body import body, tip
from renderhouse.generators.pose.rig_names import NAMINGS
from renderhouse.generators.pose.skeleton import PARENTS, present_parent


@dataclass(frozen=True)
class MannequinOptions:
    naming: str = "vrm"
    rest: str = "T"  # "T" (arms out) or "A" (arms 45° down)
    roll: float = 0.0  # degrees: each joint's rest frame turned about its bone by up to this
    aim_axes: bool = False  # joint frames with +Y along the bone (Blender/Mixamo style)
    unit_scale: float = 1.0  # 100: a centimetre rig
    z_up: bool = False  # a Z-up export (no corrective node)
    yaw: float = 0.0  # degrees about the up axis: 180 faces -Z
    arm: float = 1.0  # arm length factor
    leg: float = 1.0  # leg length factor
    fingers: bool = True
    toes: bool = True
    influence_sets: int = 1  # 2: second influences go to JOINTS_1/WEIGHTS_1
    mesh_node_offset: bool = False  # a transform on the skinned mesh's node (must be ignored)


def joint_positions(opt: MannequinOptions) -> dict[str, np.ndarray]:
    """Joint positions in metres, Y up, facing +Z, in the rig's rest pose."""
    a, leg = opt.arm, opt.leg
    foot_y = 0.08
    hips_y = foot_y + 0.82 * leg + 0.05
    p: dict[str, tuple[float, float, float]] = {
        "hips": (0, hips_y, 0),
        "spine": (0, hips_y + 0.1, 0),
        "chest": (0, hips_y + 0.24, 0),
        "upperChest": (0, hips_y + 0.36, 0),
        "neck": (0, hips_y + 0.5, 0),
        "head": (0, hips_y + 0.6, 0),
    }
    for side, sx in (("left", 1.0), ("right", -1.0)):
        sh_y = hips_y + 0.45
        hx = 0.17 + 0.28 * a + 0.25 * a
        p.update(
            {
                f"{side}Shoulder": (0.03 * sx, sh_y, 0),
                f"{side}UpperArm": (0.17 * sx, sh_y, 0),
                f"{side}LowerArm": ((0.17 + 0.28 * a) * sx, sh_y, 0),
                f"{side}Hand": (hx * sx, sh_y, 0),
                f"{side}UpperLeg": (0.09 * sx, hips_y - 0.05, 0),
                f"{side}LowerLeg": (0.09 * sx, foot_y + 0.4 * leg, 0.01),
                f"{side}Foot": (0.09 * sx, foot_y, 0),
            }
        )
        if opt.toes:
            p[f"{side}Toes"] = (0.09 * sx, 0.02, 0.12)
        if opt.fingers:
            for finger, dz, length in (
                ("Index", 0.025, 1.0),
                ("Middle", 0.0, 1.08),
                ("Little", -0.035, 0.8),
            ):
                x = hx + 0.09
                for seg, d in (("Proximal", 0.0), ("Intermediate", 0.04), ("Distal", 0.03)):
                    x += d * length
                    p[f"{side}{finger}{seg}"] = (x * sx, sh_y, dz)
            p[f"{side}ThumbMetacarpal"] = ((hx + 0.02) * sx, sh_y - 0.01, 0.03)
            p[f"{side}ThumbProximal"] = ((hx + 0.05) * sx, sh_y - 0.015, 0.055)
            p[f"{side}ThumbDistal"] = ((hx + 0.08) * sx, sh_y - 0.02, 0.07)
    out = {k: np.array(v, np.float64) for k, v in p.items()}
    if opt.rest == "A":
        for side, sign in (("left", -1.0), ("right", 1.0)):
            pivot = out[f"{side}UpperArm"].copy()
            q = rot.from_axis_angle(np.array([0, 0, 1.0]), 45.0 * sign)
            for bone in out:
                if bone.startswith(side) and _in_arm(bone):
                    out[bone] = pivot + rot.rotate(q, out[bone] - pivot)
    return out


def _in_arm(bone: str) -> bool:
    return any(k in bone for k in ("Arm", "Hand", "Thumb", "Index", "Middle", "Ring", "Little"))


def _roll_angle(bone: str, limit: float) -> float:
    h = int(hashlib.sha256(bone.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return (2 * h - 1) * limit


def _rest_rotations(pos: dict[str, np.ndarray], opt: MannequinOptions) -> dict[str, np.ndarray]:
    """Each joint's world rotation in the rest pose."""
    out = {}
    for bone in pos:
        q = rot.IDENTITY.copy()
        if opt.aim_axes:
            q = rot.between(np.array([0, 1.0, 0]), tip(bone, pos) - pos[bone])
        if opt.roll:
            axis = rot.rotate(q, np.array([0, 1.0, 0]))
            q = rot.multiply(rot.from_axis_angle(axis, _roll_angle(bone, opt.roll)), q)
        out[bone] = q
    return out


def build_mannequin(path: Path, opt: MannequinOptions | None = None) -> Path:
    """Write a rigged, skinned mannequin GLB to ``path``."""
    import pygltflib as g

    opt = opt or MannequinOptions()
    naming = NAMINGS[opt.naming]
    pos = joint_positions(opt)
    bones = [b for b in PARENTS if b in pos]
    index = {b: i for i, b in enumerate(bones)}
    rest = _rest_rotations(pos, opt)
    fix = _matrix(rot.from_axis_angle(np.array([0, 1.0, 0]), opt.yaw))
    if opt.z_up:  # Y-up → Z-up: (x, y, z) ↦ (x, -z, y)
        fix = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0]], np.float64) @ fix
    s = opt.unit_scale

    def world(bone: str) -> np.ndarray:
        m = np.eye(4)
        m[:3, :3] = fix @ _matrix(rest[bone])
        m[:3, 3] = s * (fix @ pos[bone])
        return m

    worlds = {b: world(b) for b in bones}
    verts, normals, colours, joints, weights, tris = body(pos, index)
    verts = (s * verts) @ fix.T
    normals = normals @ fix.T

    nodes: list = []
    for b in bones:
        parent = present_parent(b, pos)
        local = np.linalg.inv(worlds[parent]) @ worlds[b] if parent else worlds[b]
        nodes.append(
            g.Node(
                name=naming(b),
                translation=[float(x) for x in local[:3, 3]],
                rotation=[float(x) for x in rot.from_matrix(local[:3, :3])],
                children=[index[c] for c in bones if present_parent(c, pos) == b],
            )
        )
    mesh_node = g.Node(name="Body", mesh=0, skin=0)
    if opt.mesh_node_offset:
        mesh_node.translation = [3.0, -2.0, 1.0]
        mesh_node.rotation = [0.0, 0.7071068, 0.0, 0.7071068]
        mesh_node.scale = [2.0, 2.0, 2.0]
    nodes.append(mesh_node)
    nodes.append(g.Node(name="Armature", children=[index["hips"], len(bones)]))

    ibm = np.stack([np.linalg.inv(worlds[b]).T for b in bones]).astype(np.float32)
    blob = bytearray()
    views: list = []
    accessors: list = []

    def add(arr: np.ndarray, ctype: int, atype: str, target: int | None = None, minmax=False):
        data = np.ascontiguousarray(arr).tobytes()
        while len(blob) % 4:
            blob.append(0)
        views.append(
            g.BufferView(buffer=0, byteOffset=len(blob), byteLength=len(data), target=target)
        )
        blob.extend(data)
        acc = g.Accessor(
            bufferView=len(views) - 1,
            componentType=ctype,
            count=len(arr),
            type=atype,
        )
        if minmax:
            acc.min = [float(x) for x in arr.min(0)]
            acc.max = [float(x) for x in arr.max(0)]
        accessors.append(acc)
        return len(accessors) - 1

    attrs = g.Attributes(
        POSITION=add(verts.astype(np.float32), g.FLOAT, g.VEC3, g.ARRAY_BUFFER, True),
        NORMAL=add(normals.astype(np.float32), g.FLOAT, g.VEC3, g.ARRAY_BUFFER),
        COLOR_0=add(colours.astype(np.float32), g.FLOAT, g.VEC3, g.ARRAY_BUFFER),
    )
    j4 = np.zeros((len(verts), 4), np.uint16)
    w4 = np.zeros((len(verts), 4), np.float32)
    if opt.influence_sets == 2:
        j4[:, 0], w4[:, 0] = joints[:, 0], weights[:, 0]
        j4b = np.zeros_like(j4)
        w4b = np.zeros_like(w4)
        j4b[:, 0], w4b[:, 0] = joints[:, 1], weights[:, 1]
        attrs.JOINTS_1 = add(j4b, g.UNSIGNED_SHORT, g.VEC4, g.ARRAY_BUFFER)
        attrs.WEIGHTS_1 = add(w4b, g.FLOAT, g.VEC4, g.ARRAY_BUFFER)
    else:
        j4[:, :2], w4[:, :2] = joints, weights
    attrs.JOINTS_0 = add(j4, g.UNSIGNED_SHORT, g.VEC4, g.ARRAY_BUFFER)
    attrs.WEIGHTS_0 = add(w4, g.FLOAT, g.VEC4, g.ARRAY_BUFFER)
    idx = add(tris.reshape(-1).astype(np.uint32), g.UNSIGNED_INT, g.SCALAR, g.ELEMENT_ARRAY_BUFFER)
    ibm_i = add(ibm.reshape(len(bones), 16), g.FLOAT, g.MAT4)
    gltf = g.GLTF2(
        asset=g.Asset(version="2.0", generator="renderhouse mannequin", copyright="CC0 1.0"),
        scene=0,
        scenes=[g.Scene(nodes=[len(nodes) - 1])],
        nodes=nodes,
        meshes=[
            g.Mesh(name="Body", primitives=[g.Primitive(attributes=attrs, indices=idx, material=0)])
        ],
        materials=[
            g.Material(
                name="Mannequin",
                pbrMetallicRoughness=g.PbrMetallicRoughness(
                    baseColorFactor=[1, 1, 1, 1], metallicFactor=0.0, roughnessFactor=0.55
                ),
            )
        ],
        skins=[
            g.Skin(
                name="Mannequin",
                joints=list(range(len(bones))),
                skeleton=index["hips"],
                inverseBindMatrices=ibm_i,
            )
        ],
        accessors=accessors,
        bufferViews=views,
        buffers=[g.Buffer(byteLength=len(blob))],
    )
    gltf.set_binary_blob(bytes(blob))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gltf.save_binary(str(path))
    return path


def _matrix(q: np.ndarray) -> np.ndarray:
    from renderhouse.scene.gltf_animation import quat_to_matrix

    return quat_to_matrix(q)
