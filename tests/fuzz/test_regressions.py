"""Each hostile model the hardening issue reported (and each the fuzzers found), built from a
valid seed and fed to the validator and the loader: refused with its code, or read."""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from renderhouse.errors import ModelError
from renderhouse.scene.gltf_scene import load_scene
from renderhouse.scene.gltf_validate import ModelLimits, validate_model
from tests.fuzz.models import animated_skin, coloured_strip, glb, png, split, textured_cube
from tests.fuzz.targets import run_image


def load(tmp_path: Path, data: bytes, name: str = "m.glb"):
    path = tmp_path / name
    path.write_bytes(data)
    model = validate_model(path)
    return model, load_scene(model, max_texture_side=32)


def refused(tmp_path: Path, data: bytes) -> ModelError:
    with pytest.raises(ModelError) as info:
        load(tmp_path, data)
    assert info.value.message
    return info.value


def edited(seed: bytes, edit) -> bytes:
    doc, binary = split(seed)
    doc = copy.deepcopy(doc)
    edit(doc)
    return glb(doc, binary)


def test_seeds_load(tmp_path: Path) -> None:
    # guards the helpers: each unmodified seed loads, so the refusals below are real
    for seed in (textured_cube(), animated_skin(), coloured_strip()):
        model, scene = load(tmp_path, seed)
        assert scene.triangles > 0 and model.warnings == []


def test_zero_filled_accessor_is_bounded(tmp_path: Path) -> None:
    def edit(doc: dict) -> None:  # POSITION without a bufferView: all zeros per spec
        doc["accessors"].append({"componentType": 5126, "type": "VEC3", "count": 1_000_000_000})
        doc["meshes"][0]["primitives"][0]["attributes"] = {"POSITION": len(doc["accessors"]) - 1}
        del doc["meshes"][0]["primitives"][0]["indices"]

    err = refused(tmp_path, edited(textured_cube(), edit))
    assert err.code == "too_many_vertices" and err.details["count"] == 1_000_000_000


def test_vertices_of_every_instance_count(tmp_path: Path) -> None:
    def edit(doc: dict) -> None:  # 8 vertices (12 triangles), but 200 instances
        doc["nodes"] = [{"mesh": 0}] * 200

    path = tmp_path / "m.glb"
    path.write_bytes(edited(textured_cube(), edit))
    limits = ModelLimits(max_vertices=1000)
    assert validate_model(path, ModelLimits(max_vertices=1600)).vertices == 1600
    with pytest.raises(ModelError) as info:
        validate_model(path, limits)
    assert info.value.code == "too_many_vertices"


@pytest.mark.parametrize(
    ("where", "value"),
    [
        ("meshes", {"primitives": []}),
        ("primitives", "triangles"),
        ("indices", "0"),
        ("indices", 1.5),
        ("byteStride", "8"),
        ("byteStride", 6),
        ("uri", 5),
        ("uri", "tex\x00.png"),
        ("uri", "tex%00.png"),
        ("matrix", [0.0] * 15 + [1.0]),
        ("matrix", [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
        ("rotation", [0, 0, 1]),
        ("rotation", [0, 0, 0, 0]),
        ("sparse", 2**31),
        ("extensionsRequired", "KHR_materials_unlit"),
        ("extensionsRequired", [5]),
        ("count", True),
        ("scene", 7),
        ("children", [0]),
        ("alphaMode", "GLASS"),
        ("times", [0, 1, 0.5]),
        ("cubic", 8),
    ],
)
def test_wrong_fields_are_refused(tmp_path: Path, where: str, value: object) -> None:
    def edit(doc: dict) -> None:
        prim = doc["meshes"][0]["primitives"][0]
        if where == "meshes":
            doc["meshes"] = value
        elif where == "primitives":
            doc["meshes"][0]["primitives"] = value
        elif where == "indices":
            prim["indices"] = value
        elif where == "byteStride":
            doc["bufferViews"][0]["byteStride"] = value
        elif where == "uri":
            doc["buffers"][0]["uri"] = value
        elif where in ("matrix", "rotation"):
            doc["nodes"][2][where] = value
        elif where == "sparse":
            doc["accessors"][5]["sparse"]["count"] = value
        elif where == "extensionsRequired":
            doc["extensionsRequired"] = value
        elif where == "count":
            doc["accessors"][0]["count"] = value
        elif where == "scene":
            doc["scene"] = value
        elif where == "children":
            doc["nodes"][0]["children"] = [0, 99]
        elif where == "alphaMode":
            doc["materials"] = [{"alphaMode": value}]
        elif where == "times":
            doc["accessors"].append(dict(doc["accessors"][6], count=2))
            doc["animations"][0]["samplers"][0]["input"] = len(doc["accessors"]) - 1
        elif where == "cubic":
            doc["accessors"][8]["count"] = value

    err = refused(tmp_path, edited(animated_skin(), edit))
    assert err.code in ("bad_gltf", "accessor_out_of_bounds"), err
    assert err.details  # says where: a JSON path, an accessor, an animation channel


def test_non_increasing_keyframes(tmp_path: Path) -> None:
    doc, binary = split(animated_skin())
    view = doc["bufferViews"][doc["accessors"][6]["bufferView"]]
    start = view["byteOffset"]
    times = np.array([0, 1, 0.5], np.float32).tobytes()
    binary = binary[:start] + times + binary[start + len(times) :]
    err = refused(tmp_path, glb(doc, binary))
    assert err.code == "bad_gltf" and "increasing" in err.message


def test_deep_nesting_and_huge_integers(tmp_path: Path) -> None:
    doc, binary = split(textured_cube())
    text = glb(doc, None)[20:].rstrip()  # the JSON text
    nested = text[:-1] + b', "extras": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert refused(tmp_path, glb(nested, binary)).code == "bad_json"
    shallow = text[:-1] + b', "extras": ' + b"[" * 100 + b"]" * 100 + b"}"
    assert refused(tmp_path, glb(shallow, binary)).code == "bad_json"
    huge = text.replace(b'"count": 8', b'"count": ' + b"7" * 5000, 1)
    assert huge != text
    assert refused(tmp_path, glb(huge, binary)).code == "bad_json"
    nan = text.replace(b'"count": 8', b'"count": NaN', 1)
    assert refused(tmp_path, glb(nan, binary)).code == "bad_json"


def test_png_header_declaring_30000_squared_pixels(tmp_path: Path) -> None:
    import zlib

    image = png()
    ihdr = struct.pack(">II", 30000, 30000) + image[24:29]
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    bomb = image[:8] + chunk + image[33:]
    assert run_image(bomb) == "texture_too_large"
    doc, binary = split(textured_cube())
    view = doc["bufferViews"][doc["images"][0]["bufferView"]]
    start = view["byteOffset"]
    binary = binary[:start] + bomb + binary[start + view["byteLength"] :]
    view["byteLength"] = len(bomb)
    assert refused(tmp_path, glb(doc, binary)).code == "texture_too_large"


def test_singular_transforms_that_are_valid_still_load(tmp_path: Path) -> None:
    """A zero scale (hiding a node) is valid TRS; a skinned vertex whose weights are all
    zero has a singular skin matrix. Neither may crash the normal transform."""

    def edit(doc: dict) -> None:
        doc["nodes"][1]["scale"] = [0, 0, 0]

    _, scene = load(tmp_path, edited(animated_skin(), edit))
    assert np.all(np.isfinite(scene.primitives[0].normals))
    doc, binary = split(textured_cube())
    doc["nodes"].append({"mesh": 0, "scale": [1, 0, 1], "translation": [5, 0, 0]})
    doc["scenes"][0]["nodes"].append(1)
    _, scene = load(tmp_path, glb(doc, binary))
    assert len(scene.primitives) == 2


def test_glb_json_chunk_without_padding_is_read_with_a_warning(tmp_path: Path) -> None:
    doc, binary = split(textured_cube())
    doc["asset"]["generator"] = "trimesh-like"
    while len(glb(doc, None, pad_json=False)[20:]) % 4 == 0:
        doc["asset"]["generator"] += "!"
    data = glb(doc, binary, pad_json=False)
    assert struct.unpack_from("<I", data, 12)[0] % 4 != 0
    model, scene = load(tmp_path, data)
    assert scene.triangles == 12
    assert model.warnings and "multiple of 4" in model.warnings[0]


def test_truncated_glb_says_what_was_declared_and_what_is_there(tmp_path: Path) -> None:
    data = textured_cube()
    err = refused(tmp_path, data[:-100])
    assert err.code == "truncated_file"
    assert err.details == {"declared": len(data), "present": len(data) - 100}
    assert f"declares {len(data)} bytes but the file has {len(data) - 100}" in err.message
    lying = bytearray(data)
    json_len = struct.unpack_from("<I", data, 12)[0]
    struct.pack_into("<I", lying, 20 + json_len, 10**8)
    err = refused(tmp_path, bytes(lying))
    assert err.code == "truncated_file" and err.details["declared"] == 10**8
    assert "chunk 1 (BIN)" in err.message


def test_trailing_bytes_after_the_declared_length_are_ignored(tmp_path: Path) -> None:
    model, scene = load(tmp_path, textured_cube() + b"\0" * 12)
    assert scene.triangles == 12 and "ignored" in model.warnings[0]


def test_a_texture_transform_on_some_slots_renders(tmp_path: Path) -> None:
    """The compiler trims ``u_uv_transform[5]`` past the last slot a shader variant samples;
    writing all five crashed the GL backend ("invalid uniform size") on valid models."""
    from tests.fuzz.test_khronos_validator import render

    path = tmp_path / "cube.glb"
    path.write_bytes(textured_cube())
    frame = render(path, tmp_path / "out")
    assert (frame[..., 3] > 0).mean() > 0.1


def test_a_turntable_job_reports_the_warning(tmp_path: Path) -> None:
    from renderhouse.generators.local_context import LocalContext
    from renderhouse.generators.turntable import TurntableGenerator

    doc, binary = split(textured_cube())
    doc["asset"]["generator"] = "trimesh-like"
    while len(glb(doc, None, pad_json=False)[20:]) % 4 == 0:
        doc["asset"]["generator"] += "!"
    path = tmp_path / "m.glb"
    path.write_bytes(glb(doc, binary, pad_json=False))
    generator = TurntableGenerator()
    inp = generator.parse_input({"model": str(path), "size": 32, "frames": 1})
    result = generator.run(LocalContext(tmp_path / "out"), inp)
    assert "multiple of 4" in result["warnings"][0]


@pytest.mark.parametrize(
    "node",
    [
        {"translation": [3e38, 0, 0], "scale": [1e38, 1e38, 1e38]},  # overflows float32
        {"scale": [3e38, 3e38, 3e38], "rotation": [1e38, 0, 0, 1e38]},
        {"translation": [10**400, 0, 0]},  # a Python int no float can hold
        {"matrix": [1e38, 0, 0, 0, 0, 1e38, 0, 0, 0, 0, 1e38, 0, 1e38, 0, 0, 1]},
    ],
)
def test_huge_transforms_are_refused_not_overflowed(tmp_path: Path, node: dict) -> None:
    doc, binary = split(textured_cube())
    doc["nodes"] = [{"children": [1], **node}, {"mesh": 0, "scale": [100, 100, 100]}]
    doc["scenes"] = [{"nodes": [0]}]
    err = refused(tmp_path, glb(json.dumps(doc).encode(), binary))
    assert err.code in ("bad_gltf", "bad_geometry")


def test_many_accessors_cannot_multiply_one_view(tmp_path: Path) -> None:
    """Each accessor fits its view, but 2,000 of them aliasing one view (or zero-filled)
    would decode to far more memory than the file holds."""
    doc, binary = split(textured_cube())
    doc["accessors"] += [dict(doc["accessors"][0], count=8)] * 2000
    path = tmp_path / "m.glb"
    path.write_bytes(glb(doc, binary))
    assert validate_model(path, ModelLimits(max_vertices=3010)).vertices == 8
    with pytest.raises(ModelError) as info:  # 48,100 values; 16 per allowed vertex
        validate_model(path, ModelLimits(max_vertices=3000))
    assert info.value.code == "too_many_vertices" and "in all" in info.value.message


def test_morph_targets_count_as_vertices(tmp_path: Path) -> None:
    doc, binary = split(animated_skin())
    doc["meshes"][0]["primitives"][0]["targets"] *= 50  # 8 vertices, 50 targets
    path = tmp_path / "m.glb"
    path.write_bytes(glb(doc, binary))
    assert validate_model(path).vertices == 8 * 51
    with pytest.raises(ModelError) as info:
        validate_model(path, ModelLimits(max_vertices=400))
    assert info.value.code == "too_many_vertices"
