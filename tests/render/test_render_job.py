"""The render run end to end in-process: picture per canon output, plan, report, page;
a second identical request takes its plan from the cache; the CLI does the same."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import Image

from renderhouse.errors import InvalidInput
from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.render import RenderGenerator
from renderhouse.generators.render.cli import render
from renderhouse.generators.render.job import run_render
from renderhouse.generators.render.plan_cache import PlanCache
from tests.render.conftest import EXAMPLE, MODEL


def small(canon_data: dict[str, Any]) -> dict[str, Any]:
    canon_data["outputs"] = [
        {"width": 512, "height": 512, "format": "png"},
        {"width": 640, "height": 336, "format": "webp"},
    ]
    return canon_data


def test_render_writes_pictures_plan_and_a_passing_report(
    canon_data: dict[str, Any], tmp_path: Path
) -> None:
    gen = RenderGenerator()
    inp = gen.parse_input(
        {"brief": "a calm three-quarter shot", "model": str(MODEL), "canon": small(canon_data)}
    )
    cache = PlanCache(tmp_path / "plans")
    out = tmp_path / "out"
    result = run_render(LocalContext(out), inp, cache)
    assert result["images"] == ["render_512x512.png", "render_640x336.webp"]
    assert result["passed"] is True and result["score"] == 100.0
    assert result["plan_cache"]["hit"] is False
    with Image.open(out / "render_512x512.png") as im:
        assert im.size == (512, 512) and im.mode == "RGB"
    with Image.open(out / "render_640x336.webp") as im:
        assert im.size == (640, 336)
    plan = json.loads((out / "plan.json").read_text())
    assert plan["planner"] == "rules-1" and plan["azimuth"] == 35.0
    report = json.loads((out / "report.json").read_text())
    assert report["passed"] and len(report["outputs"]) == 2
    rules = {r["id"]: r for r in report["outputs"][0]["report"]["rules"]}
    assert {
        "logo_found",
        "logo_position",
        "logo_size",
        "logo_clear_space",
        "product_fill",
        "product_centre",
        "background_colour",
        "background_uniformity",
        "palette:#d22630",
        "forbidden:#39ff14",
    } <= set(rules)
    assert rules["logo_found"]["measured"] > 0.95
    assert abs(rules["logo_size"]["measured"] - 0.2) < 0.01
    assert 0.55 <= rules["product_fill"]["measured"] <= 0.8
    page = (out / "report.html").read_text()
    assert "render_512x512.png" in page and page.count("<tr>") >= 2 * len(rules)

    again = run_render(LocalContext(tmp_path / "again"), inp, cache)
    assert again["plan_cache"] == {"hit": True, "hits": 1, "misses": 1, "hit_rate": 0.5}
    # same plan, same pixels: the deterministic path is deterministic
    assert (out / "render_512x512.png").read_bytes() == (
        tmp_path / "again" / "render_512x512.png"
    ).read_bytes()


def test_an_image_background_is_covered_and_measured(
    canon_data: dict[str, Any], tmp_path: Path
) -> None:
    """A photo-like background (a soft two-colour blend with grain, at another aspect):
    scaled to cover, and the report measures the picture against the same scaling."""
    import io

    import numpy as np

    rng = np.random.default_rng(7)
    y = np.linspace(0, 1, 300)[:, None, None]
    photo = (np.array([236, 232, 222]) * (1 - y) + np.array([214, 206, 190]) * y).repeat(
        500, axis=1
    )
    photo = np.clip(photo + rng.normal(0, 1.0, photo.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(photo).save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    canon_data["background"] = {"kind": "image", "image": url}
    canon_data["outputs"] = [{"width": 512, "height": 384, "format": "png"}]
    inp = RenderGenerator().parse_input(
        {"brief": "front shot", "model": str(MODEL), "canon": canon_data}
    )
    result = run_render(LocalContext(tmp_path / "out"), inp, PlanCache(tmp_path / "plans"))
    assert result["passed"] is True, json.loads((tmp_path / "out" / "report.json").read_text())
    with Image.open(tmp_path / "out" / "render_512x384.png") as im:
        corner = np.asarray(im.convert("RGB"))[-3, -3].astype(int)
    assert abs(corner - np.array([214, 206, 190])).max() <= 8  # the photo's bottom, covered


def test_a_logo_that_is_not_an_image_fails_before_rendering(
    canon_data: dict[str, Any], tmp_path: Path
) -> None:
    canon_data["logo"]["image"] = "data:image/png;base64," + base64.b64encode(b"GIF89a").decode()
    inp = RenderGenerator().parse_input({"brief": "b", "model": str(MODEL), "canon": canon_data})
    with pytest.raises(InvalidInput) as err:
        run_render(LocalContext(tmp_path / "out"), inp, PlanCache(tmp_path / "plans"))
    assert err.value.code == "invalid_logo"
    assert not (tmp_path / "out" / "plan.json").exists()


def test_cli_renders_the_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RENDERHOUSE_CACHE_DIR", str(tmp_path / "cache"))
    canon = json.loads((EXAMPLE / "canon.json").read_text())
    canon["outputs"] = [{"width": 384, "height": 384, "format": "jpeg"}]
    (tmp_path / "canon.json").write_text(json.dumps(canon))
    (tmp_path / "logo.png").write_bytes((EXAMPLE / "logo.png").read_bytes())  # beside it
    out = tmp_path / "out"
    res = CliRunner().invoke(
        render,
        [
            str(MODEL),
            "--canon",
            str(tmp_path / "canon.json"),
            "--brief-file",
            str(EXAMPLE / "brief.txt"),
            "-o",
            str(out),
            "-q",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "on brand score 100/100" in res.output
    assert {p.name for p in out.iterdir()} >= {
        "render_384x384.jpg",
        "plan.json",
        "report.json",
        "report.html",
    }
    assert any((tmp_path / "cache" / "renderhouse" / "render-plans").rglob("*.json"))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ([], "give the brief"),
        (["--brief", "x", "--canon", "missing.json"], "not a readable JSON file"),
    ],
)
def test_cli_refuses_bad_arguments(tmp_path: Path, args: list[str], words: str) -> None:
    if "--canon" not in args:
        args = [*args, "--canon", str(EXAMPLE / "canon.json")]
    res = CliRunner().invoke(render, [str(MODEL), *args, "-o", str(tmp_path)])
    assert res.exit_code == 2 and words in res.output


def test_cli_names_the_canon_error_code(tmp_path: Path) -> None:
    canon = json.loads((EXAMPLE / "canon.json").read_text())
    canon["palette"][1]["hex"] = "navy"
    canon["logo"]["image"] = str(EXAMPLE / "logo.png")  # absolute paths work too
    (tmp_path / "canon.json").write_text(json.dumps(canon))
    res = CliRunner().invoke(
        render, [str(MODEL), "--canon", str(tmp_path / "canon.json"), "--brief", "b"]
    )
    assert res.exit_code == 2 and "[invalid_colour]" in res.output
    (tmp_path / "canon.json").write_text(json.dumps({**canon, "logo": {"image": "gone.png"}}))
    res = CliRunner().invoke(
        render, [str(MODEL), "--canon", str(tmp_path / "canon.json"), "--brief", "b"]
    )
    assert res.exit_code == 2 and "cannot be read [invalid_logo]" in res.output
