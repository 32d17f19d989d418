"""``render_check``: the report on a picture someone sends, as a cheap job of its own."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from renderhouse.errors import InvalidInput
from renderhouse.generators.base import Registry
from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.render.check_job import RenderCheckGenerator
from renderhouse.generators.render.job import compose_output, encode
from renderhouse.generators.render.plan import rules_plan
from renderhouse.generators.render.product_render import load_product, model_digest
from tests.render.conftest import MODEL


def url(rgb: np.ndarray, fmt: str = "png") -> str:
    kind = "jpeg" if fmt == "jpeg" else "png"
    return f"data:image/{kind};base64," + base64.b64encode(encode(rgb, fmt)).decode()


def test_check_measures_a_sent_picture(
    canon_data: dict[str, Any], canon: Any, logo: np.ndarray, tmp_path: Path
) -> None:
    assert Registry.from_entry_points().cls("render_check") is RenderCheckGenerator
    scene = load_product(MODEL, model_digest(MODEL))
    rgb, _ = compose_output(scene, rules_plan("front", canon), canon, logo, canon.outputs[1])
    gen = RenderCheckGenerator()
    good = gen.run(
        LocalContext(tmp_path / "a"),
        gen.parse_input({"canon": canon_data, "image": url(rgb, "jpeg")}),
    )
    assert good["passed"] is True and good["failed"] == []
    blank = rgb.copy()
    blank[: rgb.shape[0] // 4] = rgb[-1, -1]  # the logo painted out
    bad = gen.run(
        LocalContext(tmp_path / "b"), gen.parse_input({"canon": canon_data, "image": url(blank)})
    )
    assert bad["passed"] is False and "logo_found" in bad["failed"]
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert report["outputs"][0]["file"] == "image.png"
    assert "checked picture" in (tmp_path / "b" / "report.html").read_text()


def test_check_refuses_what_is_not_an_inline_picture(
    canon_data: dict[str, Any], tmp_path: Path
) -> None:
    gen = RenderCheckGenerator()
    with pytest.raises(InvalidInput) as err:
        gen.parse_input({"canon": canon_data, "image": "photo.png"})
    assert err.value.code == "invalid_image"
    inp = gen.parse_input(
        {
            "canon": canon_data,
            "image": "data:image/png;base64," + base64.b64encode(b"nope").decode(),
        }
    )
    with pytest.raises(InvalidInput) as err:
        gen.run(LocalContext(tmp_path), inp)
    assert err.value.code == "invalid_image"
