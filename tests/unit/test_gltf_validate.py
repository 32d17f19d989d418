"""Malformed variants of a real sample model, each refused with its own stable code."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from renderhouse.errors import ModelError
from renderhouse.scene.gltf_validate import ModelLimits, validate_model

ASSETS = Path(__file__).resolve().parents[1] / "assets"
SAMPLE = ASSETS / "BoomBox.glb"


def split_glb(data: bytes) -> tuple[dict, bytes]:
    json_len = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20 : 20 + json_len])
    bin_start = 20 + json_len
    bin_len = struct.unpack_from("<I", data, bin_start)[0]
    return doc, data[bin_start + 8 : bin_start + 8 + bin_len]


def build_glb(doc: dict, binary: bytes, version: int = 2) -> bytes:
    text = json.dumps(doc).encode()
    text += b" " * (-len(text) % 4)
    binary += b"\0" * (-len(binary) % 4)
    body = struct.pack("<II", len(text), 0x4E4F534A) + text
    body += struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<4sII", b"glTF", version, 12 + len(body)) + body


@pytest.fixture
def parts() -> tuple[dict, bytes]:
    return split_glb(SAMPLE.read_bytes())


def write(tmp_path: Path, data: bytes, name: str = "m.glb") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def code_of(path: Path, limits: ModelLimits | None = None) -> ModelError:
    with pytest.raises(ModelError) as info:
        validate_model(path, limits)
    return info.value


def test_every_sample_asset_passes() -> None:
    for path in sorted(ASSETS.glob("*.glb")):
        model = validate_model(path)
        assert model.triangles > 0, path.name


def test_rebuilt_sample_is_valid(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    # guards the helpers: an unmodified round trip must pass, so the failures below are real
    model = validate_model(write(tmp_path, build_glb(*parts)))
    assert model.triangles == 6036


def test_not_a_glb(tmp_path: Path) -> None:
    err = code_of(write(tmp_path, b"PK\x03\x04 this is a zip file, not a model"))
    assert err.code == "not_gltf"


def test_truncated_file(tmp_path: Path) -> None:
    data = SAMPLE.read_bytes()
    assert code_of(write(tmp_path, data[: len(data) // 2])).code == "truncated_file"
    assert code_of(write(tmp_path, data[:7])).code == "truncated_file"


def test_header_length_lies(tmp_path: Path) -> None:
    data = bytearray(SAMPLE.read_bytes())
    struct.pack_into("<I", data, 8, len(data) + 4096)
    assert code_of(write(tmp_path, bytes(data))).code == "truncated_file"


def test_chunk_length_lies(tmp_path: Path) -> None:
    data = bytearray(SAMPLE.read_bytes())
    json_len = struct.unpack_from("<I", data, 12)[0]
    struct.pack_into("<I", data, 20 + json_len, 10**8)  # BIN chunk claims 100 MB
    err = code_of(write(tmp_path, bytes(data)))
    assert err.code in ("truncated_file", "bad_chunk")


def test_wrong_version(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    err = code_of(write(tmp_path, build_glb(*parts, version=1)))
    assert err.code == "unsupported_version"


def test_bad_json(tmp_path: Path) -> None:
    data = bytearray(SAMPLE.read_bytes())
    data[20:30] = b"{{{{{{{{{{"
    assert code_of(write(tmp_path, bytes(data))).code == "bad_json"


def test_huge_accessor_count(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    doc, binary = parts
    doc["accessors"][0]["count"] = 2_000_000_000
    err = code_of(write(tmp_path, build_glb(doc, binary)))
    assert err.code == "accessor_out_of_bounds"
    assert err.details["accessor"] == 0


def test_buffer_view_past_buffer(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    doc, binary = parts
    doc["bufferViews"][0]["byteOffset"] = len(binary)
    assert code_of(write(tmp_path, build_glb(doc, binary))).code == "buffer_out_of_bounds"


def test_buffer_shorter_than_declared(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    doc, binary = parts
    doc["buffers"][0]["byteLength"] = len(binary) + 10_000
    assert code_of(write(tmp_path, build_glb(doc, binary))).code == "truncated_file"


@pytest.mark.parametrize(
    "extension",
    ["KHR_draco_mesh_compression", "EXT_meshopt_compression", "KHR_texture_basisu"],
)
def test_required_compression_is_refused_by_name(
    tmp_path: Path, parts: tuple[dict, bytes], extension: str
) -> None:
    doc, binary = parts
    doc["extensionsUsed"] = [extension]
    doc["extensionsRequired"] = [extension]
    err = code_of(write(tmp_path, build_glb(doc, binary)))
    assert err.code == "unsupported_extension"
    assert extension in err.message


def test_unknown_required_extension(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    doc, binary = parts
    doc["extensionsRequired"] = ["VENDOR_made_up"]
    err = code_of(write(tmp_path, build_glb(doc, binary)))
    assert (err.code, err.details["extension"]) == ("unsupported_extension", "VENDOR_made_up")


def test_ktx2_image_is_refused(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    doc, binary = parts
    doc["images"][0]["mimeType"] = "image/ktx2"
    assert code_of(write(tmp_path, build_glb(doc, binary))).code == "unsupported_extension"


def test_corrupt_texture(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    doc, binary = parts
    view = doc["bufferViews"][doc["images"][0]["bufferView"]]
    start = view.get("byteOffset", 0)
    broken = binary[:start] + b"\0" * view["byteLength"] + binary[start + view["byteLength"] :]
    err = code_of(write(tmp_path, build_glb(doc, broken)))
    assert err.code == "bad_texture"


def test_limits_are_enforced(tmp_path: Path) -> None:
    assert code_of(SAMPLE, ModelLimits(max_file_bytes=1000)).code == "file_too_large"
    assert code_of(SAMPLE, ModelLimits(max_triangles=6035)).code == "too_many_triangles"
    assert code_of(SAMPLE, ModelLimits(max_texture_pixels=255 * 256)).code == "texture_too_large"
    assert validate_model(SAMPLE, ModelLimits(max_triangles=6036)).triangles == 6036


def test_gltf_with_missing_buffer_file(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    doc, _ = parts
    doc["buffers"][0]["uri"] = "model.bin"
    path = tmp_path / "model.gltf"
    path.write_text(json.dumps(doc))
    assert code_of(path).code == "missing_resource"


def test_gltf_directory_with_external_buffer(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    doc, binary = parts
    doc["buffers"][0]["uri"] = "model.bin"
    (tmp_path / "model.bin").write_bytes(binary)
    (tmp_path / "model.gltf").write_text(json.dumps(doc))
    assert validate_model(tmp_path).triangles == 6036


def test_buffer_uri_escaping_the_directory(tmp_path: Path, parts: tuple[dict, bytes]) -> None:
    doc, _ = parts
    doc["buffers"][0]["uri"] = "../../etc/passwd"
    path = tmp_path / "model.gltf"
    path.write_text(json.dumps(doc))
    assert code_of(path).code == "missing_resource"
