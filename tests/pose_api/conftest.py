"""The API fixtures (a real store on SQLite and PostgreSQL, the ASGI app in-process, users
with keys and credits), and avatars built with the generator's mannequin builder."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from renderhouse.generators.pose.mannequin import MannequinOptions, build_mannequin
from tests.api.conftest import (  # noqa: F401
    alice,
    anon,
    anyio_backend,
    app,
    bob,
    runtime,
    settings,
    users,
)

ASSETS = Path(__file__).resolve().parents[1] / "assets"


async def upload(client: httpx.AsyncClient, path: Path) -> str:
    files = {"file": (path.name, path.read_bytes(), "application/octet-stream")}
    r = await client.post("/v1/uploads", files=files)
    assert r.status_code == 201, r.text
    return str(r.json()["ref"])


@pytest.fixture
def mannequin(tmp_path: Path) -> Path:
    return build_mannequin(tmp_path / "Mannequin.glb")


@pytest.fixture
def mixamo_rig(tmp_path: Path) -> Path:
    return build_mannequin(tmp_path / "mixamo.glb", MannequinOptions(naming="mixamo", rest="A"))
