"""Loader details checked against the glTF 2.0 specification's definitions."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from renderhouse.errors import ModelError
from renderhouse.scene.framing import frame_bounds, spin_angles
from renderhouse.scene.gltf_accessors import AccessorReader
from renderhouse.scene.gltf_scene import _texture_transform, _triangle_list


def test_texture_transform_follows_khr_texture_transform() -> None:
    info = {
        "extensions": {
            "KHR_texture_transform": {
                "offset": [0.5, 0.25],
                "rotation": np.pi / 2,
                "scale": [2.0, 3.0],
                "texCoord": 1,
            }
        }
    }
    texcoord, m = _texture_transform(info)
    assert texcoord == 1
    # spec: uv' = T·R·S·uv with R = [[cos, sin], [-sin, cos]]
    u, v = 0.1, 0.2
    su, sv = 2 * u, 3 * v
    expected = (su * 0 + sv * 1 + 0.5, -su * 1 + sv * 0 + 0.25)
    assert np.allclose((m @ [u, v, 1])[:2], expected, atol=1e-6)
    assert _texture_transform({"texCoord": 0})[1].tolist() == np.eye(3).tolist()


def test_strips_and_fans_become_triangle_lists() -> None:
    idx = np.arange(5, dtype=np.uint32)
    strip = _triangle_list(idx, 5).reshape(-1, 3).tolist()
    assert strip == [[0, 1, 2], [2, 1, 3], [2, 3, 4]]  # every other triangle flips winding
    fan = _triangle_list(idx, 6).reshape(-1, 3).tolist()
    assert fan == [[0, 1, 2], [0, 2, 3], [0, 3, 4]]
    assert _triangle_list(idx, 1) is None  # lines are not drawn


def _doc(buffer: bytes, accessors: list[dict], views: list[dict]) -> AccessorReader:
    doc = {"buffers": [{"byteLength": len(buffer)}], "bufferViews": views, "accessors": accessors}
    return AccessorReader(doc, [buffer])


def test_strided_normalised_and_sparse_accessors() -> None:
    # two VEC2 unsigned-short normalised values interleaved with 4 bytes of padding
    data = struct.pack("<HHxxxxHHxxxx", 0, 65535, 32768, 65535)
    sparse_idx = struct.pack("<H", 1)
    sparse_val = struct.pack("<HH", 65535, 0)
    buf = data + sparse_idx + b"\0\0" + sparse_val
    views = [
        {"buffer": 0, "byteOffset": 0, "byteLength": len(data), "byteStride": 8},
        {"buffer": 0, "byteOffset": len(data), "byteLength": 2},
        {"buffer": 0, "byteOffset": len(data) + 4, "byteLength": 4},
    ]
    acc = {"bufferView": 0, "componentType": 5123, "type": "VEC2", "count": 2, "normalized": True}
    reader = _doc(buf, [acc], views)
    assert np.allclose(reader.read(0), [[0, 1], [32768 / 65535, 1]])
    sparse = dict(
        acc,
        sparse={
            "count": 1,
            "indices": {"bufferView": 1, "componentType": 5123},
            "values": {"bufferView": 2},
        },
    )
    reader = _doc(buf, [sparse], views)
    assert np.allclose(reader.read(0), [[0, 1], [1, 0]])


def test_index_past_the_vertices_is_refused() -> None:
    buf = struct.pack("<3I", 0, 1, 7)
    views = [{"buffer": 0, "byteLength": len(buf)}]
    reader = _doc(
        buf, [{"bufferView": 0, "componentType": 5125, "type": "SCALAR", "count": 3}], views
    )
    with pytest.raises(ModelError) as info:
        reader.indices(0, vertex_count=3)
    assert info.value.code == "accessor_out_of_bounds"


def test_framing_fits_the_bounding_sphere() -> None:
    f = frame_bounds(np.array([-1.0, 0, -1]), np.array([1.0, 4, 1]), 512, 256, 35)
    assert np.allclose(f.center, [0, 2, 0])
    # the narrower (vertical) field of view decides; the sphere fits with 5 % margin
    assert f.radius / f.distance == pytest.approx(np.sin(np.radians(35) / 2) / 1.05)
    assert f.near < f.distance - f.radius and f.far > f.distance + f.radius
    assert spin_angles(4, "cw", 90)[1] == pytest.approx(0.0)
    assert spin_angles(4, "ccw", 0)[1] == pytest.approx(np.pi / 2)


def test_shader_variant_compiles_in_only_what_the_material_uses() -> None:
    from renderhouse.scene.gl_backend import pbr_defines
    from renderhouse.scene.gltf_scene import Material, Primitive, TextureSlot

    prim = Primitive(np.zeros((3, 3), np.float32), np.zeros((3, 3), np.float32), np.arange(3), 0)
    plain = Material()
    assert pbr_defines(plain, prim) == ()
    orm = Material(
        slots={k: TextureSlot(0) for k in ("baseColor", "metallicRoughness", "occlusion")},
        emissive=np.zeros(3, np.float32),
        occlusion_in_mr=True,
    )
    orm.slots["emissive"] = TextureSlot(1)  # a black emissive factor: the map is skipped
    assert pbr_defines(orm, prim) == (
        "HAS_BASE_MAP",
        "HAS_MR_MAP",
        "HAS_OCCLUSION_MAP",
        "OCCLUSION_IN_MR",
    )
    moved = TextureSlot(0, texcoord=1)
    odd = Material(alpha_mode="MASK", unlit=True, slots={"normal": moved, "baseColor": moved})
    prim.uv1 = np.zeros((3, 2), np.float32)
    # unlit ignores the normal map; TEXCOORD_1 needs the per-slot UV selection
    assert pbr_defines(odd, prim) == ("ALPHA_MASK", "HAS_BASE_MAP", "HAS_UV1", "UNLIT", "UV_SELECT")


def test_scissor_points_hold_every_vertex() -> None:
    from renderhouse.scene.gl_backend import _hull_points
    from renderhouse.scene.gltf_scene import Primitive, Scene

    rng = np.random.default_rng(1)
    pos = rng.normal(size=(5000, 3)).astype(np.float32)
    prim = Primitive(pos, pos, np.arange(3), 0)
    scene = Scene([prim], [], [], (pos.min(0), pos.max(0)), 1)
    hull = _hull_points(scene, cells=8)
    assert hull.shape[1] == 4 and len(hull) < len(pos)
    # any direction: the points reach at least as far as the vertices (convex hull holds them)
    for d in rng.normal(size=(50, 3)):
        assert (hull[:, :3] @ d).max() >= (pos @ d).max() - 1e-5
        assert (hull[:, :3] @ d).min() <= (pos @ d).min() + 1e-5
