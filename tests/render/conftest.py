"""Fixtures for the render generator: the example canon shipped in examples/render (its
logo inlined as a data URL, as the CLI does) and the CC0 BoomBox model in tests/assets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.canon_images import load_rgba, to_data_url
from renderhouse.generators.render.composite import trim
from tests.api.conftest import (  # noqa: F401  (the API fixtures)
    alice,
    anyio_backend,
    app,
    bob,
    live_server,
    runtime,
    settings,
    users,
)
from tests.image_providers.fake_server import (  # noqa: F401  (the fake image provider)
    script,
    server,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "render"
MODEL = ROOT / "tests" / "assets" / "BoomBox.glb"


def canon_dict() -> dict[str, Any]:
    data = json.loads((EXAMPLE / "canon.json").read_text())
    data["logo"]["image"] = to_data_url(EXAMPLE / "logo.png", "logo")
    return data


@pytest.fixture
def canon_data() -> dict[str, Any]:
    return canon_dict()


@pytest.fixture(scope="session")
def canon() -> Canon:
    return Canon.model_validate(canon_dict())


@pytest.fixture(scope="session")
def logo(canon: Canon) -> np.ndarray:
    return trim(load_rgba(canon.logo.image, "logo"))
