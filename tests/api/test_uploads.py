"""Uploads: streamed with a size cap, typed by content, names sanitised, owned per user,
and usable as job inputs by reference."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import assert_error

pytestmark = pytest.mark.anyio


def glb(doc: dict | bytes | None = None, binary: bytes = b"", lie: int = 0) -> bytes:
    raw = (
        doc if isinstance(doc, bytes) else json.dumps(doc or {"asset": {"version": "2.0"}}).encode()
    )
    raw += b" " * (-len(raw) % 4)
    body = struct.pack("<II", len(raw), 0x4E4F534A) + raw
    if binary:
        binary += b"\0" * (-len(binary) % 4)
        body += struct.pack("<II", len(binary), 0x004E4942) + binary
    return struct.pack("<4sII", b"glTF", 2, 12 + len(body) + lie) + body


def gltf_zip(extra: dict[str, bytes] | None = None) -> bytes:
    doc = {"asset": {"version": "2.0"}, "buffers": [{"uri": "mesh.bin", "byteLength": 4}]}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("model/scene.gltf", json.dumps(doc))
        z.writestr("model/mesh.bin", b"\0\0\0\0")
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buf.getvalue()


async def upload(client: httpx.AsyncClient, name: str, data: bytes) -> httpx.Response:
    return await client.post(
        "/v1/uploads", files={"file": (name, data, "application/octet-stream")}
    )


async def test_glb_upload_and_ownership(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    data = glb(binary=b"abcd")
    r = await upload(alice, "../../etc/My Model!.glb", data)
    assert r.status_code == 201, r.text
    up = r.json()
    assert up["content_type"] == "model/gltf-binary" and up["size"] == len(data)
    assert up["name"] == "My_Model_.glb" and up["ref"] == f"upload:{up['id']}"
    import hashlib

    assert up["sha256"] == hashlib.sha256(data).hexdigest()
    assert (await alice.get(f"/v1/uploads/{up['id']}")).json()["id"] == up["id"]
    assert [u["id"] for u in (await alice.get("/v1/uploads")).json()] == [up["id"]]
    assert_error(await bob.get(f"/v1/uploads/{up['id']}"), 404, "not_found")
    assert (await bob.get("/v1/uploads")).json() == []


def staged(runtime, job: dict, tmp_path: Path) -> Path:
    """Where a worker finds the job's model: the job keeps the reference (never a server
    path), and the worker's staging turns it into a local file."""
    from renderhouse.uploads import Staging

    staging = Staging(runtime.store, runtime.storage, tmp_path / "cache")
    return Path(staging.stage(job["owner"], job["input"])["model"])


async def test_upload_as_job_input(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, runtime, tmp_path: Path
) -> None:
    up = (await upload(alice, "m.glb", glb())).json()
    r = await alice.post("/v1/jobs", json={"kind": "turntable", "input": {"model": up["ref"]}})
    assert r.status_code == 201, r.text
    assert r.json()["input"]["model"] == up["ref"]
    path = staged(runtime, r.json(), tmp_path)
    assert path.is_file() and path.read_bytes().startswith(b"glTF")
    r = await bob.post("/v1/jobs", json={"kind": "turntable", "input": {"model": up["ref"]}})
    assert_error(r, 404, "not_found")


async def test_gltf_zip(alice: httpx.AsyncClient, runtime, tmp_path: Path) -> None:
    r = await upload(alice, "pack.zip", gltf_zip())
    assert r.status_code == 201, r.text
    job = await alice.post(
        "/v1/jobs", json={"kind": "turntable", "input": {"model": r.json()["ref"]}}
    )
    model = staged(runtime, job.json(), tmp_path)
    assert model.name == "scene.gltf" and (model.parent / "mesh.bin").is_file()


@pytest.mark.parametrize(
    ("name", "data", "status", "code"),
    [
        ("lies.glb", glb(lie=100), 422, "invalid_glb"),
        ("short.glb", glb()[:-3], 422, "invalid_glb"),
        ("v1.glb", b"glTF" + struct.pack("<II", 1, 20) + b"\0" * 8, 422, "invalid_glb"),
        ("badjson.glb", glb(b"{not json"), 422, "invalid_gltf"),
        ("notgltf.glb", glb(b'{"a": 1}'), 422, "invalid_gltf"),
        ("chunk.glb", glb(binary=b"x" * 8)[:-4] + b"", 422, "invalid_glb"),
        ("img.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, 422, "invalid_image"),
        ("img.gif", b"GIF89a" + b"\0" * 100, 415, "unsupported_media_type"),
        ("empty.glb", b"", 422, "empty_file"),
        ("cut.pdf", b"%PDF-1.7\n1 0 obj\n", 422, "invalid_pdf"),
        ("x.gltf", b"{broken", 422, "invalid_gltf"),
        ("slip.zip", gltf_zip({"../../evil.sh": b"#!/bin/sh"}), 422, "unsafe_zip"),
        ("abs.zip", gltf_zip({"/etc/cron.d/x": b"x"}), 422, "unsafe_zip"),
        ("two.zip", gltf_zip({"other.gltf": b"{}"}), 422, "invalid_gltf"),
        ("junk.zip", b"PK\x03\x04" + b"\0" * 50, 422, "invalid_zip"),
    ],
)
async def test_bad_files(
    alice: httpx.AsyncClient, name: str, data: bytes, status: int, code: str
) -> None:
    assert_error(await upload(alice, name, data), status, code)


async def test_zip_bomb(alice: httpx.AsyncClient) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("scene.gltf", json.dumps({"asset": {"version": "2.0"}}))
        z.writestr("bomb.bin", b"\0" * (64 << 20))
    assert len(buf.getvalue()) < 1 << 20
    assert_error(await upload(alice, "bomb.zip", buf.getvalue()), 422, "zip_bomb")


async def test_pdf(alice: httpx.AsyncClient) -> None:
    r = await upload(alice, "plan.pdf", b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\n%%EOF\n")
    assert r.status_code == 201 and r.json()["content_type"] == "application/pdf"


async def test_oversized(alice: httpx.AsyncClient) -> None:
    big = glb(binary=b"x" * (2 << 20))
    assert_error(await upload(alice, "big.glb", big), 413, "payload_too_large")

    async def stream():  # no Content-Length: the cap is enforced while streaming
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.glb"\r\n\r\n'
        for _ in range(40):
            yield b"x" * 65536
        yield b"\r\n--b--\r\n"

    r = await alice.post(
        "/v1/uploads", content=stream(), headers={"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert_error(r, 413, "payload_too_large")


async def test_truncated_and_malformed(alice: httpx.AsyncClient, settings) -> None:
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.glb"\r\n\r\n'
    mp = {"Content-Type": "multipart/form-data; boundary=b"}
    r = await alice.post("/v1/uploads", content=head + glb()[:30], headers=mp)
    assert_error(r, 400, "upload_truncated")
    other = b'--b\r\nContent-Disposition: form-data; name="other"\r\n\r\nx\r\n--b--\r\n'
    assert_error(await alice.post("/v1/uploads", content=other, headers=mp), 400, "missing_file")
    r = await alice.post("/v1/uploads", json={"file": "x"})
    assert_error(r, 415, "unsupported_media_type")
    assert_error(await alice.post("/v1/uploads", content=b"garbage", headers=mp), 400)
    assert not list((settings.data_dir / "tmp").glob("upload-*"))


async def test_real_model(alice: httpx.AsyncClient) -> None:
    from tests.conftest import ASSETS

    fox = ASSETS / "Fox.glb"
    r = await upload(alice, "Fox.glb", fox.read_bytes())
    assert r.status_code == 201, r.text


def _zip_headers(data: bytes, name: bytes) -> list[int]:
    """Offsets of the local and central headers of member ``name``."""
    out = []
    for sig, name_at in ((b"PK\x03\x04", 30), (b"PK\x01\x02", 46)):
        at = data.find(sig)
        while at >= 0:
            if data[at + name_at : at + name_at + len(name)] == name:
                out.append(at)
            at = data.find(sig, at + 4)
    return out


def damaged_zip(edit: str) -> bytes:
    data = bytearray(gltf_zip({"model/big.bin": bytes(range(256)) * 64}))
    local, central = _zip_headers(bytes(data), b"model/big.bin")
    if edit == "crc":
        struct.pack_into("<I", data, local + 14, 0xDEADBEEF)
        struct.pack_into("<I", data, central + 16, 0xDEADBEEF)
    elif edit == "deflate":
        start = local + 30 + struct.unpack_from("<HH", data, local + 26)[0]
        start += struct.unpack_from("<HH", data, local + 26)[1]
        data[start + 4 : start + 40] = b"\xff" * 36
    elif edit == "encrypted":
        data[local + 6] |= 1
        data[central + 8] |= 1
    elif edit == "method99":
        struct.pack_into("<H", data, local + 8, 99)
        struct.pack_into("<H", data, central + 10, 99)
    return bytes(data)


def zipped_gltf_text(text: bytes) -> bytes:
    """``text`` zipped, with incompressible padding so it is not refused as a zip bomb."""
    import base64
    import os

    noise = base64.b64encode(os.urandom(200_000))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("scene.gltf", text[:-1] + b', "noise": "' + noise + b'"}')
    return buf.getvalue()


DEEP = b'{"asset": {"version": "2.0"}, "extras": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
BIG_INT = b'{"asset": {"version": "2.0"}, "scene": ' + b"9" * 5000 + b"}"
ZEROS = {  # POSITION without a bufferView is a billion zeros, per the spec
    "asset": {"version": "2.0"},
    "nodes": [{"mesh": 0}],
    "meshes": [{"primitives": [{"attributes": {"POSITION": 0}}]}],
    "accessors": [{"componentType": 5126, "type": "VEC3", "count": 1_000_000_000}],
}


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("deep.glb", glb(DEEP), "invalid_gltf"),
        ("deep.gltf", DEEP, "invalid_gltf"),
        ("deep.zip", zipped_gltf_text(DEEP), "invalid_gltf"),
        ("bigint.glb", glb(BIG_INT), "invalid_gltf"),
        ("bigint.gltf", BIG_INT, "invalid_gltf"),
        ("bigint.zip", zipped_gltf_text(BIG_INT), "invalid_gltf"),
        ("crc.zip", damaged_zip("crc"), "invalid_zip"),
        ("deflate.zip", damaged_zip("deflate"), "invalid_zip"),
        ("encrypted.zip", damaged_zip("encrypted"), "invalid_zip"),
        ("method99.zip", damaged_zip("method99"), "invalid_zip"),
        ("zeros.glb", glb(ZEROS), "too_many_vertices"),
        ("zeros.gltf", json.dumps(ZEROS).encode(), "too_many_vertices"),
        (
            "outside.gltf",
            json.dumps({**ZEROS, "buffers": [{"uri": "x.bin", "byteLength": 4}]}).encode(),
            "missing_resource",
        ),
    ],
)
async def test_hostile_uploads_are_refused_with_a_code(
    alice: httpx.AsyncClient, name: str, data: bytes, code: str
) -> None:
    error = assert_error(await upload(alice, name, data), 422, code)
    assert error["message"] and error["details"]["field"] == "file"


async def test_zeros_accessor_says_what_it_declares(alice: httpx.AsyncClient) -> None:
    error = assert_error(await upload(alice, "zeros.glb", glb(ZEROS)), 422, "too_many_vertices")
    assert error["details"]["count"] == 1_000_000_000 and "1000000000" in error["message"]


async def test_glb_with_an_unpadded_json_chunk_is_accepted(alice: httpx.AsyncClient) -> None:
    """trimesh has written GLBs whose JSON chunk length is not a multiple of 4 and three.js
    reads them; so do we (with a warning the job reports)."""
    raw = json.dumps({"asset": {"version": "2.0", "generator": "x"}}).encode()
    raw += b" " * (3 - len(raw) % 4 if len(raw) % 4 != 3 else 0)
    assert len(raw) % 4 == 3
    body = struct.pack("<II", len(raw), 0x4E4F534A) + raw
    body += struct.pack("<II", 4, 0x004E4942) + b"abcd"
    data = struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body
    r = await upload(alice, "trimesh.glb", data)
    assert r.status_code == 201, r.text
