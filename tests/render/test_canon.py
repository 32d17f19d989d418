"""The canon refuses what it cannot enforce, each with a code and a sentence: invalid
colours, incomplete backgrounds, impossible ranges, logos that are not bounded images."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from renderhouse.errors import InvalidInput
from renderhouse.generators.render import RenderGenerator
from renderhouse.generators.render.canon_images import load_rgba, to_data_url
from tests.render.conftest import MODEL


def parse(canon: dict[str, Any], **extra: Any) -> Any:
    return RenderGenerator().parse_input(
        {"brief": "a calm front shot", "model": str(MODEL), "canon": canon, **extra}
    )


def test_the_example_canon_is_valid(canon_data: dict[str, Any]) -> None:
    inp = parse(canon_data)
    assert inp.canon.colours("primary")[0].hex == "#d22630"
    assert [z.name for z in inp.canon.logo.safe_zones] == ["top-left corner", "top-right corner"]


@pytest.mark.parametrize("bad", ["red", "#12345", "#gg0000", "d22630ff", "#d2263", 7])
def test_an_invalid_palette_colour_is_refused_with_its_code(
    canon_data: dict[str, Any], bad: object
) -> None:
    canon_data["palette"][0]["hex"] = bad
    with pytest.raises(InvalidInput) as err:
        parse(canon_data)
    assert err.value.code == "invalid_colour"
    assert "#rrggbb" in err.value.message
    assert err.value.details["errors"][0]["field"] == "canon.palette.0.hex"


def test_an_invalid_background_colour_and_an_incomplete_gradient(
    canon_data: dict[str, Any],
) -> None:
    canon_data["background"] = {"kind": "solid", "colour": "#zzzzzz"}
    with pytest.raises(InvalidInput) as err:
        parse(canon_data)
    assert err.value.code == "invalid_colour"
    canon_data["background"] = {"kind": "gradient", "colour": "#ffffff"}
    with pytest.raises(InvalidInput) as err:
        parse(canon_data)
    assert err.value.code == "invalid_background"
    assert "bottom" in err.value.message


def test_impossible_ranges_are_refused(canon_data: dict[str, Any]) -> None:
    canon_data["framing"]["fill_min"] = 0.9
    with pytest.raises(InvalidInput) as err:
        parse(canon_data)
    assert err.value.code == "invalid_framing"
    canon_data = {**canon_data, "framing": {}}
    canon_data["logo"] = {**canon_data["logo"], "width": 0.05}
    with pytest.raises(InvalidInput) as err:
        parse(canon_data)
    assert err.value.code == "invalid_logo_size"


def test_structural_errors_and_a_long_brief(canon_data: dict[str, Any]) -> None:
    canon_data["palette"] = []
    with pytest.raises(InvalidInput) as err:
        parse(canon_data)
    assert err.value.code == "invalid_canon"
    good = {**canon_data, "palette": [{"hex": "#000000", "role": "primary"}]}
    with pytest.raises(InvalidInput) as err:
        RenderGenerator().parse_input({"brief": "x" * 4001, "model": str(MODEL), "canon": good})
    assert err.value.code == "invalid_input"
    assert err.value.details["errors"][0]["field"] == "brief"


def _png(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.full((h, w, 4), 200, np.uint8), "RGBA").save(buf, "PNG")
    return buf.getvalue()


def test_an_svg_logo_is_drawn_to_pixels() -> None:
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100">'
        b'<rect width="300" height="100" rx="12" fill="#d22630"/>'
        b'<circle cx="50" cy="50" r="30" fill="#ffffff"/></svg>'
    )
    rgba = load_rgba("data:image/svg+xml;base64," + base64.b64encode(svg).decode(), "logo")
    assert rgba.shape == (341, 1024, 4)
    assert tuple(rgba[170, 600]) == (210, 38, 48, 255)  # the red field
    assert tuple(rgba[170, 170]) == (255, 255, 255, 255)  # the white dot
    assert rgba[0, 0, 3] < 255  # the rounded corner is transparent


def test_logo_from_a_data_url_and_a_file_inlined(tmp_path: Path) -> None:
    data = _png(40, 20)
    url = "data:image/png;base64," + base64.b64encode(data).decode()
    assert load_rgba(url, "logo").shape == (20, 40, 4)
    (tmp_path / "logo.png").write_bytes(data)
    assert to_data_url(tmp_path / "logo.png", "logo") == url


def test_a_canon_image_is_inline_an_upload_or_a_staged_file(canon_data: dict[str, Any]) -> None:
    """Over HTTP an absolute path is refused by the API (a declared upload field, see
    test_render_api); the model takes it because the worker stages uploads to files."""
    for value in ("logo.png", "../logo.png", "upload:", "http://example.com/logo.png"):
        canon_data["logo"] = {**canon_data["logo"], "image": value}
        with pytest.raises(InvalidInput) as err:
            parse(canon_data)
        assert err.value.code == "invalid_logo"
        assert "data URL" in err.value.message and "upload:<id>" in err.value.message
    for value in ("upload:up_123", "/var/cache/renderhouse/uploads/up_123/logo.png"):
        canon_data["logo"] = {**canon_data["logo"], "image": value}
        assert parse(canon_data).canon.logo.image == value
    canon_data["background"] = {"kind": "image", "image": "secret.png"}
    with pytest.raises(InvalidInput) as err:
        parse(canon_data)
    assert err.value.code == "invalid_background"


def _bomb() -> bytes:
    """A valid PNG header declaring 100000 x 100000 pixels, with a tiny body."""

    def chunk(tag: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(tag + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _url(content: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(content).decode()


@pytest.mark.parametrize(
    ("content", "code", "words"),
    [
        (b"%PDF-1.7 not an image", "invalid_logo", "not a PNG, JPEG, WebP or SVG"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg' width='1' height='100'/>",
            "invalid_logo",
            "not a logo's",
        ),
        (b"<svg xmlns='http://www.w3.org/2000/svg'><rect", "invalid_logo", "not well-formed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
            b'<svg xmlns="http://www.w3.org/2000/svg"><text>&b;</text></svg>',
            "invalid_logo",
            "not well-formed",
        ),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"'
            b' width="10" height="10"><image xlink:href="file:///etc/hostname" width="10"'
            b' height="10"/></svg>',
            "invalid_logo",
            "may not load",
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "invalid_logo", "damaged"),
        (_bomb(), "invalid_logo", "at most 4096x4096"),
    ],
)
def test_a_logo_that_is_not_a_bounded_image_is_refused(
    content: bytes, code: str, words: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        load_rgba(_url(content), "logo")
    assert err.value.code == code
    assert words in err.value.message


def test_bad_references_are_refused(tmp_path: Path) -> None:
    for ref, words in (
        (str(tmp_path / "logo.png"), "cannot be read"),  # a staged file that is gone
        ("upload:up_1", "upload references are resolved by the platform's worker"),
        ("data:image/png,rawbytes", "data URL"),
        ("data:image/png;base64,@@@", "not valid base64"),
        ("data:image/png;base64," + "A" * 12_000_000, "larger than 8 MB"),
    ):
        with pytest.raises(InvalidInput) as err:
            load_rgba(ref, "logo")
        assert err.value.code == "invalid_logo"
        assert words in err.value.message
    with pytest.raises(InvalidInput) as err:
        to_data_url(tmp_path / "missing.png", "logo")
    assert err.value.code == "invalid_logo" and "cannot be read" in err.value.message
