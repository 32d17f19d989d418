"""SVG logos upload like pictures: judged by their bytes, drawn once at upload the way the
render generator draws them (no entities, nothing loaded from outside), and refused with
``invalid_svg`` and a sentence otherwise."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from renderhouse.api import filetypes
from renderhouse.errors import InvalidInput
from tests.api.conftest import assert_error
from tests.api.test_uploads import upload
from tests.fuzz.strategies import SVG_HOSTILE, SVG_LOGO


@pytest.mark.anyio
async def test_an_svg_logo_uploads_as_svg(alice: httpx.AsyncClient) -> None:
    r = await upload(alice, "logo.txt", SVG_LOGO)  # the name says nothing; the bytes do
    assert r.status_code == 201, r.text
    assert r.json()["content_type"] == "image/svg+xml"


@pytest.mark.anyio
@pytest.mark.parametrize("data", SVG_HOSTILE[:5])
async def test_hostile_svgs_are_refused(alice: httpx.AsyncClient, data: bytes) -> None:
    r = await upload(alice, "logo.svg", data)
    assert_error(r, 422, "invalid_svg")
    assert "SVG" in r.json()["error"]["message"]


def test_an_svg_past_the_renderers_limit_is_refused(tmp_path: Path) -> None:
    """(An upload limit above 1 MB lets it reach the check; the tests' limit is 1 MB.)"""
    path = tmp_path / "logo.svg"
    path.write_bytes(SVG_LOGO.replace(b"</svg>", b"<!--" + b"x" * (1 << 20) + b"--></svg>"))
    with pytest.raises(InvalidInput) as refused:
        filetypes.detect(path, 1 << 20, tmp_path)
    assert refused.value.code == "invalid_svg"
    assert "at most 1 MB" in refused.value.message
