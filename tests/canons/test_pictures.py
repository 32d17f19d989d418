"""Customers' own pictures: PNG, JPEG and WebP uploads judged by their bytes (damaged files
and decompression bombs refused with a code), usable as ``upload:<id>`` in a
``render_check`` job's ``image``, which only takes pictures (or one inline)."""

from __future__ import annotations

import io
import struct
import zlib

import httpx
import pytest
from PIL import Image

from tests.api.conftest import assert_error
from tests.canons.conftest import upload
from tests.render.conftest import MODEL

pytestmark = [pytest.mark.anyio, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


def picture(fmt: str, size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (210, 38, 48)).save(buf, fmt)
    return buf.getvalue()


def png_declaring(width: int, height: int) -> bytes:
    """A small PNG whose header (with a valid CRC) claims ``width`` x ``height`` pixels."""
    data = picture("PNG")
    ihdr = b"IHDR" + struct.pack(">II", width, height) + data[24:29]
    chunk = struct.pack(">I", 13) + ihdr + struct.pack(">I", zlib.crc32(ihdr))
    return data[:8] + chunk + data[33:]


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")],
)
async def test_pictures_are_accepted_by_content(
    alice: httpx.AsyncClient, fmt: str, content_type: str
) -> None:
    r = await upload(alice, "photo.bin", picture(fmt))
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == content_type


async def test_bad_pictures_are_refused_with_a_code(alice: httpx.AsyncClient) -> None:
    good = picture("PNG")
    assert_error(await upload(alice, "cut.png", good[: len(good) // 2]), 422, "invalid_image")
    jpeg = picture("JPEG")
    assert_error(await upload(alice, "cut.jpg", jpeg[:40]), 422, "invalid_image")
    webp = b"RIFF" + struct.pack("<I", 100) + b"WEBPVP8 " + b"\0" * 60
    assert_error(await upload(alice, "junk.webp", webp), 422, "invalid_image")
    # over our limit (refused before decoding), and past Pillow's own bomb threshold
    err = assert_error(await upload(alice, "big.png", png_declaring(8000, 6000)), 422)
    assert err["code"] == "image_too_large" and "8000x6000" in err["message"]
    for side in (30000, 2**31 - 1):
        err = assert_error(await upload(alice, "bomb.png", png_declaring(side, side)), 422)
        assert err["code"] == "image_too_large" and "40 megapixels" in err["message"]


async def test_image_takes_only_pictures(alice: httpx.AsyncClient) -> None:
    from tests.canons.conftest import small_canon

    model = (await upload(alice, "m.glb", MODEL.read_bytes())).json()["ref"]
    body = {"kind": "render_check", "input": {"canon": small_canon(), "image": model}}
    err = assert_error(await alice.post("/v1/jobs", json=body), 422, "wrong_file_type")
    assert err["details"]["accepted"] == ["image/png", "image/jpeg", "image/webp"]
    photo = (await upload(alice, "p.webp", picture("WEBP"))).json()["ref"]
    body["input"]["image"] = photo
    r = await alice.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["input"]["image"] == photo
    body["input"]["image"] = "/etc/passwd"
    err = assert_error(await alice.post("/v1/jobs", json=body), 422)
    assert "server paths are not accepted" in err["message"]
