"""A canon's logo and background image as ``upload:<id>`` references: checked at submit at
their own dotted paths (``canon.logo.image``: PNG/SVG; ``canon.background.image``:
PNG/JPEG/WebP), kept as references in the job row, staged by the worker, rendered. A
``render_check`` picture and the canon's logo no longer clash (both are called ``image``).
A stored canon copies an uploaded picture's bytes in (a version is a fixed snapshot)."""

from __future__ import annotations

import asyncio
import base64
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.conftest import assert_error
from tests.render.conftest import EXAMPLE, MODEL
from tests.render.test_render_api import run_jobs, small_canon, upload_model

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


async def upload(client: httpx.AsyncClient, name: str, data: bytes) -> str:
    r = await client.post("/v1/uploads", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 201, r.text
    return str(r.json()["ref"])


def backdrop(colour: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (320, 320), colour).save(buf, "WEBP", lossless=True)
    return buf.getvalue()


async def test_logo_and_background_uploads_render_through_a_worker(
    alice: httpx.AsyncClient, runtime: Any, tmp_path: Path
) -> None:
    model = await upload_model(alice)
    logo = await upload(alice, "logo.png", (EXAMPLE / "logo.png").read_bytes())
    background = await upload(alice, "wall.webp", backdrop("#f3efe6"))
    canon = small_canon()
    canon["logo"]["image"] = logo
    canon["background"] = {"kind": "image", "image": background}
    body = {"kind": "render", "input": {"brief": "calm front shot", "model": model, "canon": canon}}
    r = await alice.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["input"]["canon"]["logo"]["image"] == logo  # a reference, never a path
    assert job["input"]["canon"]["background"]["image"] == background
    await asyncio.to_thread(run_jobs, runtime, tmp_path / "uploads", [job["id"]])
    done = runtime.queue.get(job["id"])
    assert done.state == "succeeded", (done.error_code, done.error_message)
    rules = done.result["passed"], done.result["score"]
    assert rules == (True, 100.0)
    assert done.input["canon"]["logo"]["image"] == logo


async def test_each_picture_field_takes_its_own_types(alice: httpx.AsyncClient) -> None:
    model = await upload_model(alice)
    photo = await upload(alice, "photo.jpg", _jpeg())
    canon = small_canon()
    canon["logo"]["image"] = model  # a GLB is no logo
    body = {"kind": "render", "input": {"brief": "b", "model": model, "canon": canon}}
    err = assert_error(await alice.post("/v1/jobs", json=body), 422, "wrong_file_type")
    assert err["details"]["field"] == "input.canon.logo.image"
    assert err["details"]["accepted"] == ["image/png", "image/svg+xml"]
    canon["logo"]["image"] = photo  # a JPEG is no logo upload either …
    err = assert_error(await alice.post("/v1/jobs", json=body), 422, "wrong_file_type")
    canon = small_canon()
    canon["background"] = {"kind": "image", "image": photo}  # … but is a background
    body["input"]["canon"] = canon
    assert (await alice.post("/v1/jobs", json=body)).status_code == 201
    canon["background"]["image"] = "/srv/backgrounds/wall.png"
    err = assert_error(await alice.post("/v1/jobs", json=body), 422)
    assert err["details"]["field"] == "input.canon.background.image"


async def test_check_picture_and_canon_logo_are_told_apart(alice: httpx.AsyncClient) -> None:
    """Both fields are called ``image``; each is checked against its own declaration."""
    logo = await upload(alice, "logo.png", (EXAMPLE / "logo.png").read_bytes())
    photo = await upload(alice, "photo.webp", backdrop("#202020"))
    canon = small_canon()
    canon["logo"]["image"] = logo
    body = {"kind": "render_check", "input": {"canon": canon, "image": photo}}
    r = await alice.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["input"]["image"] == photo and r.json()["input"]["canon"]["logo"]["image"]
    canon["logo"]["image"] = photo  # a WebP is a picture to check, not a logo
    err = assert_error(await alice.post("/v1/jobs", json=body), 422, "wrong_file_type")
    assert err["details"]["field"] == "input.canon.logo.image"


async def test_a_stored_canon_copies_the_uploaded_pictures_in(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient
) -> None:
    data = (EXAMPLE / "logo.png").read_bytes()
    logo = await upload(alice, "logo.png", data)
    canon = small_canon()
    canon["logo"]["image"] = logo
    r = await alice.post("/v1/canons", json=canon)
    assert r.status_code == 201, r.text
    stored = r.json()["canon"]["logo"]["image"]
    assert stored == "data:image/png;base64," + base64.b64encode(data).decode()
    # bob cannot store alice's upload; a model is no logo
    assert_error(await bob.post("/v1/canons", json=canon), 404)
    canon["logo"]["image"] = await upload(alice, "m.glb", MODEL.read_bytes())
    err = assert_error(await alice.post("/v1/canons", json=canon), 422, "wrong_file_type")
    assert err["details"]["field"] == "logo.image" and err["message"].startswith("logo.image:")


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 64), "#d22630").save(buf, "JPEG")
    return buf.getvalue()
