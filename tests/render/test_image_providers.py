"""The AI path's image clients against a local server speaking the OpenAI Images and Gemini
protocols; the server proven faithful by driving it with the official ``openai`` and
``google-genai`` SDKs; and the AI path end to end: used when it keeps the product, retried
once, replaced by our own render when it does not, refused requests never charged."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from renderhouse.errors import BudgetExhausted, InvalidInput
from renderhouse.generators import spending
from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.render import RenderGenerator
from renderhouse.generators.render.job import run_render
from renderhouse.generators.render.plan_cache import PlanCache
from renderhouse.providers.images.base import ProviderFailed, ProviderRefused
from renderhouse.providers.images.gemini_images import GeminiImages
from renderhouse.providers.images.openai_images import OpenAIImages, size_for
from tests.image_providers.fake_server import Script
from tests.render.conftest import MODEL


def png(w: int = 64, h: int = 64) -> bytes:
    a = np.zeros((h, w, 3), np.uint8)
    a[h // 4 : 3 * h // 4, w // 4 : 3 * w // 4] = (200, 30, 40)
    buf = io.BytesIO()
    Image.fromarray(a).save(buf, "PNG")
    return buf.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as im:
        return im.size


# --- the fake, driven by the official SDKs -------------------------------------------------


def test_openai_sdk_edits_an_image_on_the_fake(
    server: str, script: Script, request: pytest.FixtureRequest
) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{server}/v1", api_key="sk-test", max_retries=0)
    request.addfinalizer(client.close)
    result = client.images.edit(
        model="gpt-image-1",
        image=("render.png", png(), "image/png"),
        prompt="keep the product",
        input_fidelity="high",
        size="1024x1024",
        output_format="png",
    )
    assert result.data and result.data[0].b64_json
    assert size_of(base64.b64decode(result.data[0].b64_json)) == (1024, 1024)
    assert result.usage is not None and result.usage.output_tokens == 4160
    assert result.usage.input_tokens_details.image_tokens == 194
    assert script.calls[0]["input_fidelity"] == "high"
    assert script.calls[0]["model"] == "gpt-image-1"
    script.steps = ["refuse"]
    with pytest.raises(openai.BadRequestError) as err:
        client.images.edit(model="gpt-image-1", image=("r.png", png(), "image/png"), prompt="x")
    assert err.value.code == "moderation_blocked"


def test_google_genai_sdk_generates_on_the_fake(
    server: str, script: Script, request: pytest.FixtureRequest
) -> None:
    from google import genai
    from google.genai import types

    client = genai.Client(
        api_key="test-key", http_options=types.HttpOptions(base_url=server, api_version="v1beta")
    )
    request.addfinalizer(client.close)
    response = client.models.generate_content(
        model="gemini-2.5-flash-image",
        contents=["keep the product", types.Part.from_bytes(data=png(), mime_type="image/png")],
        config=types.GenerateContentConfig(response_modalities=["IMAGE"]),
    )
    parts = response.candidates[0].content.parts  # type: ignore[index, union-attr]
    images = [p.inline_data.data for p in parts if p.inline_data]  # type: ignore[union-attr]
    assert len(images) == 1 and size_of(images[0]) == (64, 64)  # type: ignore[arg-type]
    assert response.usage_metadata.candidates_token_count == 1290  # type: ignore[union-attr]
    call = script.calls[0]
    assert (call["model"], call["images"], call["prompt"]) == (
        "gemini-2.5-flash-image",
        1,
        "keep the product",
    )
    assert call["config"]["responseModalities"] == ["IMAGE"]
    script.steps = ["refuse"]
    refused = client.models.generate_content(
        model="gemini-2.5-flash-image",
        contents=["x", types.Part.from_bytes(data=png(), mime_type="image/png")],
    )
    assert refused.candidates[0].finish_reason == types.FinishReason.IMAGE_SAFETY  # type: ignore[index]


# --- our clients ---------------------------------------------------------------------------


def test_openai_client_sends_high_fidelity_and_prices_the_usage(
    server: str, script: Script, request: pytest.FixtureRequest
) -> None:
    client = OpenAIImages(f"{server}/v1", "sk-test")
    request.addfinalizer(client.close)
    result = client.edit(png(), "keep it", 1200, 628)
    call = script.calls[0]
    assert call["input_fidelity"] == "high" and call["output_format"] == "png"
    assert call["size"] == size_for(1200, 628) == "1536x1024"
    assert size_of(result.png) == (1536, 1024)
    # 64 text tokens at $5/M + 194 image tokens at $10/M + 4160 out at $40/M, in micro-$
    assert result.cost == 320 + 1940 + 166_400
    assert result.cost <= client.estimate(1200, 628)
    script.steps = ["refuse"]
    with pytest.raises(ProviderRefused) as refused:
        client.edit(png(), "x", 512, 512)
    assert refused.value.code == "provider_refused"
    script.steps = ["fail"]
    with pytest.raises(ProviderFailed):
        client.edit(png(), "x", 512, 512)
    keyless = OpenAIImages(f"{server}/v1", None)
    request.addfinalizer(keyless.close)
    with pytest.raises(InvalidInput) as rejected:
        keyless.edit(png(), "x", 512, 512)
    assert rejected.value.code == "provider_rejected"


def test_gemini_client_reads_inline_images_and_treats_image_safety_as_final(
    server: str, script: Script, request: pytest.FixtureRequest
) -> None:
    client = GeminiImages(server, "test-key")
    request.addfinalizer(client.close)
    result = client.edit(png(), "keep it", 512, 512)
    assert size_of(result.png) == (64, 64)
    assert result.cost == 393 + 38_700  # 1310 in at $0.30/M, 1290 out at $30/M
    assert script.calls[0]["images"] == 1
    script.steps = ["refuse"]
    with pytest.raises(ProviderRefused) as refused:
        client.edit(png(), "x", 512, 512)
    assert refused.value.details["reason"] == "IMAGE_SAFETY"
    script.steps = ["fail"]
    with pytest.raises(ProviderFailed):
        client.edit(png(), "x", 512, 512)


# --- the AI path ---------------------------------------------------------------------------


def run_ai(
    canon_data: dict[str, Any], tmp_path: Path, server: str, provider: str
) -> tuple[dict[str, Any], dict[str, Any], spending.Unmetered]:
    import json

    canon_data["outputs"] = [{"width": 512, "height": 512, "format": "png"}]
    inp = RenderGenerator().parse_input(
        {
            "brief": "calm three-quarter shot",
            "model": str(MODEL),
            "canon": canon_data,
            "mode": "ai",
            "provider": provider,
        }
    )
    meter = spending.Unmetered()
    out = tmp_path / "out"
    providers = {
        "openai": lambda: OpenAIImages(f"{server}/v1", "sk-test"),
        "gemini": lambda: GeminiImages(server, "test-key"),
    }
    result = run_render(LocalContext(out, meter=meter), inp, PlanCache(tmp_path / "p"), providers)
    report = json.loads((out / "report.json").read_text())["outputs"][0]
    return result, report, meter


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_ai_picture_is_used_when_it_keeps_the_product(
    canon_data: dict[str, Any], tmp_path: Path, server: str, provider: str
) -> None:
    result, out, meter = run_ai(canon_data, tmp_path, server, provider)
    assert out["ai"]["used"] == "ai" and out["ai"]["attempts"] == 1
    rules = {r["id"]: r for r in out["report"]["rules"]}
    assert rules["preservation_iou"]["passed"] and rules["preservation_iou"]["measured"] >= 0.98
    assert rules["preservation_colour"]["measured"] <= 3.0
    assert result["passed"] is True
    assert result["provider_cost_micro_usd"] == meter.spent == out["ai"]["cost_micro_usd"] > 0


def test_a_reshaped_product_is_retried_once(
    canon_data: dict[str, Any], tmp_path: Path, server: str, script: Script
) -> None:
    script.steps = ["warp", "faithful"]
    _, out, meter = run_ai(canon_data, tmp_path, server, "openai")
    assert out["ai"]["used"] == "ai" and out["ai"]["attempts"] == 2
    assert "product not preserved" in out["ai"]["notes"][0]
    page = (tmp_path / "out" / "report.html").read_text()
    assert "openai: delivered the AI picture after 2 attempt(s)" in page
    assert meter.spent == 2 * 168_660  # both calls were made, both are paid


def test_twice_reshaped_falls_back_to_our_render_and_says_so(
    canon_data: dict[str, Any], tmp_path: Path, server: str, script: Script
) -> None:
    script.steps = ["warp"]
    result, out, _ = run_ai(canon_data, tmp_path, server, "gemini")
    assert out["ai"]["used"] == "deterministic" and out["ai"]["attempts"] == 2
    assert "used the deterministic picture" in out["ai"]["notes"][-1]
    assert result["passed"] is True  # our own render, which passes its canon
    assert not any(r["id"].startswith("preservation") for r in out["report"]["rules"])


@pytest.mark.parametrize("provider", ["openai", "gemini"])
def test_a_refusal_fails_the_job_for_good_and_costs_nothing(
    canon_data: dict[str, Any], tmp_path: Path, server: str, script: Script, provider: str
) -> None:
    script.steps = ["refuse"]
    with pytest.raises(InvalidInput) as err:
        run_ai(canon_data, tmp_path, server, provider)
    assert err.value.code == "provider_refused"
    assert len(script.calls) == 1  # final: not retried


class SpentBudget(spending.Unmetered):
    def reserve(self, estimate: int, provider: str | None) -> list[str]:
        raise BudgetExhausted(f"the {provider} budget is used up", details={"provider": provider})


def test_an_exhausted_budget_stops_the_job_before_any_call(
    canon_data: dict[str, Any], tmp_path: Path, server: str, script: Script
) -> None:
    canon_data["outputs"] = [{"width": 256, "height": 256, "format": "png"}]
    inp = RenderGenerator().parse_input(
        {
            "brief": "b",
            "model": str(MODEL),
            "canon": canon_data,
            "mode": "ai",
            "provider": "openai",
        }
    )
    ctx = LocalContext(tmp_path / "out", meter=SpentBudget())
    providers = {"openai": lambda: OpenAIImages(f"{server}/v1", "sk-test")}
    with pytest.raises(BudgetExhausted) as err:
        run_render(ctx, inp, PlanCache(tmp_path / "p"), providers)
    assert err.value.code == "budget_exhausted" and script.calls == []
    assert not (tmp_path / "out" / "render_256x256.png").exists()


def test_ai_mode_needs_a_provider(canon_data: dict[str, Any]) -> None:
    with pytest.raises(InvalidInput) as err:
        RenderGenerator().parse_input(
            {"brief": "b", "model": str(MODEL), "canon": canon_data, "mode": "ai"}
        )
    assert "needs a provider" in err.value.message


def test_a_retried_job_keeps_what_it_paid_for(
    canon_data: dict[str, Any], tmp_path: Path, server: str, script: Script
) -> None:
    """Two outputs; the provider fails on the second. The retried attempt resumes from the
    checkpoint: the first picture is not sent (nor paid for) again."""
    canon_data["outputs"] = [
        {"width": 384, "height": 384, "format": "png"},
        {"width": 480, "height": 252, "format": "jpeg"},
    ]
    inp = RenderGenerator().parse_input(
        {
            "brief": "calm",
            "model": str(MODEL),
            "canon": canon_data,
            "mode": "ai",
            "provider": "openai",
        }
    )
    meter = spending.Unmetered()
    ctx = LocalContext(tmp_path / "out", meter=meter, checkpoint_file=tmp_path / "cp.json")
    providers = {"openai": lambda: OpenAIImages(f"{server}/v1", "sk-test")}
    script.steps = ["faithful", "fail", "faithful"]
    with pytest.raises(ProviderFailed):
        run_render(ctx, inp, PlanCache(tmp_path / "p"), providers)
    first = (tmp_path / "out" / "render_384x384.png").read_bytes()
    result = run_render(ctx, inp, PlanCache(tmp_path / "p"), providers)
    assert len(script.calls) == 3  # 1 + the failed one + the second picture, once each
    assert (tmp_path / "out" / "render_384x384.png").read_bytes() == first
    assert result["images"] == ["render_384x384.png", "render_480x252.jpg"]
    assert result["provider_cost_micro_usd"] == 168_660 + 168_660  # delivered pictures
    priced = OpenAIImages("http://127.0.0.1:9")
    estimate = priced.estimate(480, 252)
    priced.close()
    assert meter.spent == 2 * 168_660 + estimate  # the failed call is held at its estimate
