"""Pose a glTF scene at one animation time: node TRS, morph weights, joint matrices.

Interpolation follows glTF 2.0 §3.11 ("Animations") and Appendix C ("Animation Sampler
Interpolation Modes"): STEP, LINEAR (slerp for rotations) and CUBICSPLINE (Hermite).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from renderhouse.scene.gltf_accessors import AccessorReader


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = (float(v) for v in q / (np.linalg.norm(q) or 1.0))
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def trs_matrix(t: np.ndarray, r: np.ndarray, s: np.ndarray) -> np.ndarray:
    m = np.eye(4)
    m[:3, :3] = quat_to_matrix(r) * s[None, :]
    m[:3, 3] = t
    return m


def _slerp(a: np.ndarray, b: np.ndarray, u: float) -> np.ndarray:
    d = float(np.dot(a, b))
    if d < 0:
        b, d = -b, -d
    if d > 0.9995:
        q = a + u * (b - a)
    else:
        theta = np.arccos(d)
        q = (np.sin((1 - u) * theta) * a + np.sin(u * theta) * b) / np.sin(theta)
    return q / (np.linalg.norm(q) or 1.0)


def sample_channel(times: np.ndarray, values: np.ndarray, mode: str, path: str, t: float):
    """Value of one sampler at time ``t`` (clamped to its key range)."""
    n = len(times)
    if mode == "CUBICSPLINE":
        values = values.reshape(n, 3, -1)
    if t <= times[0] or n == 1:
        v = values[0][1] if mode == "CUBICSPLINE" else values[0]
        return np.asarray(v, dtype=np.float64)
    if t >= times[-1]:
        v = values[-1][1] if mode == "CUBICSPLINE" else values[-1]
        return np.asarray(v, dtype=np.float64)
    k = int(np.searchsorted(times, t, side="right")) - 1
    t0, t1 = float(times[k]), float(times[k + 1])
    u = (t - t0) / (t1 - t0) if t1 > t0 else 0.0
    if mode == "STEP":
        return np.asarray(values[k], dtype=np.float64)
    if mode == "CUBICSPLINE":
        dt = t1 - t0
        p0, m0 = values[k][1], values[k][2] * dt
        p1, m1 = values[k + 1][1], values[k + 1][0] * dt
        u2, u3 = u * u, u * u * u
        v = (
            (2 * u3 - 3 * u2 + 1) * p0
            + (u3 - 2 * u2 + u) * m0
            + (-2 * u3 + 3 * u2) * p1
            + (u3 - u2) * m1
        )
        v = np.asarray(v, dtype=np.float64)
        return v / (np.linalg.norm(v) or 1.0) if path == "rotation" else v
    a, b = np.asarray(values[k], np.float64), np.asarray(values[k + 1], np.float64)
    if path == "rotation":
        return _slerp(a, b, u)
    return a + u * (b - a)


def local_transforms(
    doc: dict[str, Any],
    reader: AccessorReader,
    animation: int | None,
    time: float,
    overrides: Mapping[int, Mapping[str, np.ndarray]] | None = None,
) -> tuple[list[np.ndarray], dict[int, np.ndarray]]:
    """Local matrix of every node, and morph weights per node, posed at ``time``.
    ``overrides`` (node → {"translation"|"rotation"|"scale": value}) replace the sampled
    or stored TRS values of those nodes last (a pose set by code rather than a clip)."""
    nodes = doc.get("nodes") or []
    trs = []
    for node in nodes:
        trs.append(
            {
                "translation": np.array(node.get("translation", [0, 0, 0]), np.float64),
                "rotation": np.array(node.get("rotation", [0, 0, 0, 1]), np.float64),
                "scale": np.array(node.get("scale", [1, 1, 1]), np.float64),
            }
        )
    weights: dict[int, np.ndarray] = {}
    anims = doc.get("animations") or []
    if animation is not None and 0 <= animation < len(anims):
        anim = anims[animation]
        for channel in anim.get("channels") or []:
            target = channel.get("target") or {}
            node_i, path = target.get("node"), target.get("path")
            if node_i is None or not 0 <= node_i < len(nodes):
                continue
            sampler = anim["samplers"][channel["sampler"]]
            times = reader.read(sampler["input"]).reshape(-1)
            values = reader.read(sampler["output"])
            mode = sampler.get("interpolation", "LINEAR")
            if path == "weights":
                values = values.reshape(len(times) * (3 if mode == "CUBICSPLINE" else 1), -1)
                weights[node_i] = sample_channel(times, values, mode, path, time)
            elif path in ("translation", "rotation", "scale"):
                trs[node_i][path] = sample_channel(times, values, mode, path, time)
    for node_i, values in (overrides or {}).items():
        if 0 <= node_i < len(nodes):
            for path, value in values.items():
                trs[node_i][path] = np.asarray(value, np.float64)
    mats = []
    for i, (node, p) in enumerate(zip(nodes, trs, strict=True)):
        if "matrix" in node and not any(k in node for k in ("translation", "rotation", "scale")):
            animated = p["translation"].any() or p["rotation"][:3].any() or i in (overrides or {})
            if not animated:
                mats.append(np.array(node["matrix"], np.float64).reshape(4, 4).T)
                continue
        mats.append(trs_matrix(p["translation"], p["rotation"], p["scale"]))
    return mats, weights


def world_transforms(
    doc: dict[str, Any], local: list[np.ndarray], root: np.ndarray | None = None
) -> dict[int, np.ndarray]:
    """World matrices of the nodes reachable from the default scene (or every root);
    ``root`` is a transform above the scene's roots (e.g. an axis or unit fix)."""
    nodes = doc.get("nodes") or []
    scenes = doc.get("scenes") or []
    if scenes:
        roots = scenes[doc.get("scene", 0) if 0 <= doc.get("scene", 0) < len(scenes) else 0].get(
            "nodes", []
        )
    else:
        children = {c for n in nodes for c in n.get("children", [])}
        roots = [i for i in range(len(nodes)) if i not in children]
    world: dict[int, np.ndarray] = {}
    top = np.eye(4) if root is None else np.asarray(root, np.float64)
    stack = [(r, top) for r in roots]
    while stack:
        i, parent = stack.pop()
        if i in world or not 0 <= i < len(nodes):
            continue  # a cycle or a bad reference: ignore rather than loop
        world[i] = parent @ local[i]
        stack.extend((c, world[i]) for c in nodes[i].get("children", []))
    return world
