"""The example plugin, tested as its authors would: the measurement on a model built here,
its CLI command through the ``renderhouse`` entry point, and the job through a real
``renderhouse serve`` (API + worker) that found the kind by its entry point alone."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pygltflib
import pytest
from renderhouse_meshinfo.stats import mesh_stats

RENDERHOUSE = [str(Path(sys.executable).with_name("renderhouse"))]
"""The installed console script, beside the interpreter running the tests."""


def box_glb(path: Path, scale: float = 1.0) -> Path:
    """A cube (8 vertices, 12 triangles) spanning [-scale, scale]³."""
    positions = (
        np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], np.float32) * scale
    )
    faces = [
        (0, 1, 3),
        (0, 3, 2),
        (4, 6, 7),
        (4, 7, 5),
        (0, 4, 5),
        (0, 5, 1),
        (2, 3, 7),
        (2, 7, 6),
        (0, 2, 6),
        (0, 6, 4),
        (1, 5, 7),
        (1, 7, 3),
    ]
    indices = np.array(faces, np.uint16).ravel()
    blob = positions.tobytes() + indices.tobytes()
    gltf = pygltflib.GLTF2(
        scene=0,
        scenes=[pygltflib.Scene(nodes=[0])],
        nodes=[pygltflib.Node(mesh=0)],
        meshes=[
            pygltflib.Mesh(
                primitives=[
                    pygltflib.Primitive(
                        attributes=pygltflib.Attributes(POSITION=0), indices=1, material=0
                    )
                ]
            )
        ],
        materials=[pygltflib.Material(name="grey")],
        accessors=[
            pygltflib.Accessor(
                bufferView=0,
                componentType=pygltflib.FLOAT,
                count=8,
                type="VEC3",
                min=positions.min(0).tolist(),
                max=positions.max(0).tolist(),
            ),
            pygltflib.Accessor(
                bufferView=1,
                componentType=pygltflib.UNSIGNED_SHORT,
                count=len(indices),
                type="SCALAR",
            ),
        ],
        bufferViews=[
            pygltflib.BufferView(buffer=0, byteOffset=0, byteLength=positions.nbytes),
            pygltflib.BufferView(buffer=0, byteOffset=positions.nbytes, byteLength=indices.nbytes),
        ],
        buffers=[pygltflib.Buffer(byteLength=len(blob))],
    )
    gltf.set_binary_blob(blob)
    gltf.save_binary(str(path))
    return path


def test_counts_and_bounds_of_a_cube(tmp_path: Path) -> None:
    stats = mesh_stats(box_glb(tmp_path / "box.glb", scale=2.5))
    assert (stats["vertices"], stats["triangles"], stats["primitives"]) == (8, 12, 1)
    assert stats["bounds"] == {"min": [-2.5] * 3, "max": [2.5] * 3}
    assert stats["materials"] == ["grey"]


def test_garbage_is_refused_with_a_code(tmp_path: Path) -> None:
    bad = tmp_path / "bad.glb"
    bad.write_bytes(b"glTF\x02\x00\x00\x00" + b"\xff" * 40)
    result = subprocess.run(
        [*RENDERHOUSE, "meshinfo", str(bad)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    assert "invalid_model" in result.stderr


def test_the_cli_command_comes_from_the_entry_point(tmp_path: Path) -> None:
    listing = subprocess.run(
        [*RENDERHOUSE, "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert re.search(r"^\s+meshinfo\s", listing.stdout, re.M), listing.stdout
    result = subprocess.run(
        [*RENDERHOUSE, "meshinfo", str(box_glb(tmp_path / "box.glb"))],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert json.loads(result.stdout)["triangles"] == 12


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path):
    """``renderhouse serve`` on a fresh data directory; yields (base URL, admin key)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("RENDERHOUSE_")}
    env["RENDERHOUSE_DATA_DIR"] = str(tmp_path / "data")
    proc = subprocess.Popen(
        [*RENDERHOUSE, "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    key, lines = None, []
    try:
        deadline = time.monotonic() + 60
        assert proc.stdout is not None
        while key is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = re.search(r"\b(rh_\S+)", line)
            key = match.group(1) if match else None
        assert key, "serve printed no admin key:\n" + "".join(lines)
        base = f"http://127.0.0.1:{port}"
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/health/live", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base, key
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_job_runs_through_the_api_and_a_worker(server, tmp_path: Path) -> None:
    base, key = server
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as http:
        kinds = http.post("/v1/jobs", json={"kind": "nope", "input": {}}).json()
        assert "meshinfo" in kinds["error"]["details"]["known"]
        glb = box_glb(tmp_path / "box.glb").read_bytes()
        up = http.post("/v1/uploads", files={"file": ("box.glb", glb)})
        assert up.status_code == 201, up.text
        ref = up.json()["ref"]
        r = http.post("/v1/jobs", json={"kind": "meshinfo", "input": {"model": ref}})
        assert r.status_code == 201, r.text
        job = r.json()
        assert job["input"]["model"] == ref
        deadline = time.monotonic() + 60
        while job["state"] not in ("succeeded", "failed", "cancelled"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
            job = http.get(f"/v1/jobs/{job['id']}").json()
        assert job["state"] == "succeeded", job["error"]
        assert job["result"]["triangles"] == 12
        listing = http.get(f"/v1/jobs/{job['id']}/artifacts").json()
        artifacts = listing.get("artifacts", listing) if isinstance(listing, dict) else listing
        (stats,) = [a for a in artifacts if a["name"] == "meshinfo.json"]
        body = httpx.get(stats["url"] if stats["url"].startswith("http") else base + stats["url"])
        assert body.status_code == 200
        assert json.loads(body.content)["vertices"] == 8
