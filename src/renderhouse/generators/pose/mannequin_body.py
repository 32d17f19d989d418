"""The mannequin's body: a tapered tube around each bone (a sphere for the head), skinned
rigidly to its bone except near the bone's start, where weights blend linearly into the
parent bone so joints bend smoothly."""

from __future__ import annotations

import math

import numpy as np

from renderhouse.generators.pose.skeleton import present_parent, side_and_part


def tip(bone: str, pos: dict[str, np.ndarray]) -> np.ndarray:
    """Where a bone's body part ends: its first child joint, or a point past its end."""
    children = [b for b in pos if present_parent(b, pos) == bone]
    if bone == "hips":
        return pos["spine"]
    prefer = [c for c in children if not c.endswith(("Shoulder", "UpperLeg", "ThumbMetacarpal"))]
    prefer = [c for c in prefer if "Index" not in c and "Little" not in c] or prefer
    if prefer:
        return pos[prefer[0]]
    parent = present_parent(bone, pos)
    d = pos[bone] - pos[parent] if parent else np.array([0, 1.0, 0])
    if bone == "head":
        return pos[bone] + np.array([0, 0.22, 0])
    if bone.endswith("Foot"):
        return pos[bone] + np.array([0, -0.06, 0.17])
    length = 0.025 if "Distal" in bone else 0.08
    return pos[bone] + d / (np.linalg.norm(d) or 1.0) * length


RADII = {
    "hips": (0.13, 0.12),
    "spine": (0.12, 0.13),
    "chest": (0.13, 0.15),
    "upperChest": (0.15, 0.08),
    "neck": (0.05, 0.05),
    "Shoulder": (0.05, 0.055),
    "UpperArm": (0.055, 0.045),
    "LowerArm": (0.045, 0.035),
    "Hand": (0.035, 0.03),
    "UpperLeg": (0.08, 0.06),
    "LowerLeg": (0.058, 0.042),
    "Foot": (0.042, 0.035),
    "Toes": (0.035, 0.025),
}


def _radius(bone: str) -> tuple[float, float]:
    _, part = side_and_part(bone)
    if part in RADII:
        return RADII[part]
    return (0.011, 0.009)  # fingers


def _frame(direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = direction / (np.linalg.norm(direction) or 1.0)
    helper = np.array([0, 0, 1.0]) if abs(d[2]) < 0.9 else np.array([1.0, 0, 0])
    u = np.cross(d, helper)
    u /= np.linalg.norm(u)
    return u, np.cross(d, u)


def _tube(a, b, r0, r1, sides=10, rings=6):
    """Vertices, normals, ring parameter t in [0, 1], and triangles of a capped tube."""
    u, v = _frame(b - a)
    ang = np.linspace(0, 2 * math.pi, sides, endpoint=False)
    verts, norms, ts = [], [], []
    for i in range(rings):
        t = i / (rings - 1)
        c = a + (b - a) * t
        r = r0 + (r1 - r0) * t
        for th in ang:
            n = math.cos(th) * u + math.sin(th) * v
            verts.append(c + r * n)
            norms.append(n)
            ts.append(t)
    d = (b - a) / (np.linalg.norm(b - a) or 1.0)
    for end, t, n in ((a, 0.0, -d), (b, 1.0, d)):
        verts.append(end + n * 0.3 * (r0 if t == 0 else r1))
        norms.append(n)
        ts.append(t)
    tris = []
    for i in range(rings - 1):
        for k in range(sides):
            p0, p1 = i * sides + k, i * sides + (k + 1) % sides
            q0, q1 = p0 + sides, p1 + sides
            tris += [(p0, p1, q1), (p0, q1, q0)]
    cap0, cap1 = rings * sides, rings * sides + 1
    last = (rings - 1) * sides
    for k in range(sides):
        tris.append((cap0, (k + 1) % sides, k))
        tris.append((cap1, last + k, last + (k + 1) % sides))
    return np.array(verts), np.array(norms), np.array(ts), np.array(tris)


def _sphere(c, r, n=12):
    verts, norms = [], []
    for i in range(n + 1):
        phi = math.pi * i / n
        for k in range(n):
            th = 2 * math.pi * k / n
            d = np.array(
                [math.sin(phi) * math.cos(th), math.cos(phi), math.sin(phi) * math.sin(th)]
            )
            verts.append(c + r * d * np.array([0.85, 1.0, 0.95]))
            norms.append(d)
    tris = []
    for i in range(n):
        for k in range(n):
            p0, p1 = i * n + k, i * n + (k + 1) % n
            tris += [(p0, p1 + n, p1), (p0, p0 + n, p1 + n)]
    return np.array(verts), np.array(norms), np.array(tris)


COLOURS = {"left": (0.34, 0.42, 0.55), "right": (0.58, 0.44, 0.34), "": (0.5, 0.5, 0.5)}


def body(pos: dict[str, np.ndarray], index: dict[str, int]):
    """Positions, normals, colours, joints, weights (two influences), triangles."""
    parts = []
    for bone in pos:
        parent = present_parent(bone, pos)
        colour = COLOURS[side_and_part(bone)[0]]
        if bone == "head":
            v, n, tri = _sphere(pos["head"] + np.array([0, 0.11, 0.01]), 0.11)
            t = np.ones(len(v))
        else:
            r0, r1 = _radius(bone)
            v, n, t, tri = _tube(pos[bone], tip(bone, pos), r0, r1)
        blend = 0.25 if parent else 0.0
        w_self = np.where(t < blend, 0.5 + 0.5 * t / max(blend, 1e-9), 1.0)
        j0 = np.full(len(v), index[bone])
        j1 = np.full(len(v), index[parent] if parent else index[bone])
        parts.append((v, n, np.tile(colour, (len(v), 1)), j0, j1, w_self, tri))
    out_v, out_n, out_c, out_j, out_w, out_t = [], [], [], [], [], []
    base = 0
    for v, n, c, j0, j1, w, tri in parts:
        out_v.append(v)
        out_n.append(n)
        out_c.append(c)
        out_j.append(np.stack([j0, j1], 1))
        out_w.append(np.stack([w, 1 - w], 1))
        out_t.append(tri + base)
        base += len(v)
    return (
        np.concatenate(out_v),
        np.concatenate(out_n),
        np.concatenate(out_c),
        np.concatenate(out_j),
        np.concatenate(out_w),
        np.concatenate(out_t),
    )
