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


async def test_upload_as_job_input(alice: httpx.AsyncClient, bob: httpx.AsyncClient) -> None:
    up = (await upload(alice, "m.glb", glb())).json()
    r = await alice.post("/v1/jobs", json={"kind": "turntable", "input": {"model": up["ref"]}})
    assert r.status_code == 201, r.text
    path = Path(r.json()["input"]["model"])
    assert path.is_file() and path.read_bytes().startswith(b"glTF")
    r = await bob.post("/v1/jobs", json={"kind": "turntable", "input": {"model": up["ref"]}})
    assert_error(r, 404, "not_found")


async def test_gltf_zip(alice: httpx.AsyncClient, runtime) -> None:
    r = await upload(alice, "pack.zip", gltf_zip())
    assert r.status_code == 201, r.text
    job = await alice.post(
        "/v1/jobs", json={"kind": "turntable", "input": {"model": r.json()["ref"]}}
    )
    model = Path(job.json()["input"]["model"])
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
        ("img.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 100, 415, "unsupported_media_type"),
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
