"""Linear blend skinning and animation sampling against answers worked out by hand
(glTF 2.0 §3.7.3 "Skins", §3.11 "Animations", Appendix C "Interpolation")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from renderhouse.scene.gltf_animation import sample_channel
from renderhouse.scene.gltf_scene import load_scene
from renderhouse.scene.gltf_validate import validate_model
from tests.pose.tiny_gltf import two_bone_arm

# v0 on the shoulder, v1 half way (weights 0.5/0.5), v2 at the hand (elbow only).
VERTS = np.array([[0.5, 0, 0], [1.5, 0, 0], [2.0, 0, 0]], np.float64)
JOINTS = np.array([[0, 1], [0, 1], [1, 0]])
WEIGHTS = np.array([[1.0, 0.0], [0.5, 0.5], [1.0, 0.0]])
Z90 = [0.0, 0.0, math.sin(math.pi / 4), math.cos(math.pi / 4)]


def _posed(path: Path, animation: int | None = None, time: float = 0.0) -> np.ndarray:
    scene = load_scene(validate_model(path), animation=animation, animation_time=time)
    return scene.primitives[0].positions.astype(np.float64)


def _z_rotation(angle: float) -> np.ndarray:
    """Where each vertex goes when the elbow turns by ``angle`` about +Z, worked by hand:
    the elbow-only vertex swings about (1, 0, 0); the half-weighted one is the average of
    its unmoved and swung positions (linear blend skinning)."""
    c, s = math.cos(angle), math.sin(angle)
    hand = np.array([1 + c, s, 0])
    mid_swung = np.array([1 + 0.5 * c, 0.5 * s, 0])
    return np.array([[0.5, 0, 0], (np.array([1.5, 0, 0]) + mid_swung) / 2, hand])


@pytest.mark.parametrize("split_sets", [False, True], ids=["JOINTS_0", "JOINTS_0+JOINTS_1"])
def test_two_bone_arm_bends_at_the_elbow(tmp_path: Path, split_sets: bool) -> None:
    path = two_bone_arm(
        tmp_path / "arm.glb",
        vertices=VERTS,
        joints=JOINTS,
        weights=WEIGHTS,
        elbow_rotation=Z90,
        split_sets=split_sets,
    )
    got = _posed(path)
    assert np.allclose(got, _z_rotation(math.pi / 2), atol=1e-6)
    assert np.allclose(got[2], [1, 1, 0], atol=1e-6)
    assert np.allclose(got[1], [1.25, 0.25, 0], atol=1e-6)


def test_the_skinned_mesh_nodes_own_transform_is_ignored(tmp_path: Path) -> None:
    offset = {"translation": [5.0, -3.0, 2.0], "rotation": Z90, "scale": [2.0, 2.0, 2.0]}
    path = two_bone_arm(
        tmp_path / "arm.glb",
        vertices=VERTS,
        joints=JOINTS,
        weights=WEIGHTS,
        elbow_rotation=Z90,
        mesh_node=offset,
    )
    assert np.allclose(_posed(path), _z_rotation(math.pi / 2), atol=1e-6)


def _animated(tmp_path: Path, interpolation: str, times: list, values: list, path="rotation"):
    return two_bone_arm(
        tmp_path / f"{interpolation}.glb",
        vertices=VERTS,
        joints=JOINTS,
        weights=WEIGHTS,
        animation={
            "path": path,
            "interpolation": interpolation,
            "times": times,
            "values": values,
        },
    )


def test_step_holds_each_key_until_the_next(tmp_path: Path) -> None:
    z0 = [0, 0, 0, 1]
    path = _animated(tmp_path, "STEP", [0.0, 1.0], [z0, Z90])
    assert np.allclose(_posed(path, 0, 0.99), _z_rotation(0), atol=1e-6)
    assert np.allclose(_posed(path, 0, 1.0), _z_rotation(math.pi / 2), atol=1e-6)


def test_linear_rotation_slerps_on_the_shortest_path(tmp_path: Path) -> None:
    # The second key is -q for a +90° turn about Z: the same rotation written in the other
    # hemisphere. Slerp must go the short way: +45° half way, not -135°.
    minus_z90 = [-v for v in Z90]
    path = _animated(tmp_path, "LINEAR", [0.0, 2.0], [[0, 0, 0, 1], minus_z90])
    assert np.allclose(_posed(path, 0, 1.0), _z_rotation(math.pi / 4), atol=1e-5)
    assert np.allclose(_posed(path, 0, 0.5), _z_rotation(math.pi / 8), atol=1e-5)


def test_cubicspline_follows_the_hermite_formula(tmp_path: Path) -> None:
    # Elbow translation x: key 0 at t=0 (value 1, out-tangent 3), key 1 at t=2 (value 2,
    # in-tangent -1). Appendix C: p(u) = h00·p0 + h10·Δt·b0 + h01·p1 + h11·Δt·a1.
    p0, b0, p1, a1, dt = 1.0, 3.0, 2.0, -1.0, 2.0
    values = [[0, 0, 0], [p0, 0, 0], [b0, 0, 0], [a1, 0, 0], [p1, 0, 0], [0, 0, 0]]
    path = _animated(tmp_path, "CUBICSPLINE", [0.0, 2.0], values, path="translation")
    u = 0.25
    h00, h10 = 2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u
    h01, h11 = -2 * u**3 + 3 * u**2, u**3 - u**2
    x = h00 * p0 + h10 * dt * b0 + h01 * p1 + h11 * dt * a1
    got = _posed(path, 0, u * dt)
    # The elbow moves to (x, 0, 0); the hand vertex is bound 1 unit past the elbow.
    assert got[2] == pytest.approx([x + 1, 0, 0], abs=1e-5)
    assert got[1] == pytest.approx([(1.5 + x + 0.5) / 2, 0, 0], abs=1e-5)


def test_cubicspline_rotation_is_normalised() -> None:
    times = np.array([0.0, 1.0])
    q = np.array(Z90)
    values = np.array([np.zeros(4), [0, 0, 0, 1], np.zeros(4), np.zeros(4), q, np.zeros(4)])
    mid = sample_channel(times, values, "CUBICSPLINE", "rotation", 0.5)
    assert np.linalg.norm(mid) == pytest.approx(1.0)
    assert mid[2] / mid[3] == pytest.approx(math.tan(math.pi / 8), rel=0.05)
