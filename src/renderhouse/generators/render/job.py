"""The render run: plan (cached) → product render → composite per output → measure → write.

Outputs: one picture per canon output size (``render_<w>x<h>.<ext>``), ``plan.json``,
``report.json`` (every output's measured report) and ``report.html``. The report measures
the encoded picture as delivered (decoded back), not the pixels before encoding."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PIL import Image

from renderhouse.generators.context import Context
from renderhouse.generators.render import composite, measure
from renderhouse.generators.render.canon import Canon, Output
from renderhouse.generators.render.canon_images import load_rgba
from renderhouse.generators.render.llm_planner import LLMPlanner
from renderhouse.generators.render.options import RenderInput
from renderhouse.generators.render.plan import Plan
from renderhouse.generators.render.plan_cache import PlanCache
from renderhouse.generators.render.planning import plan_for
from renderhouse.generators.render.report import Report, check

if TYPE_CHECKING:
    from renderhouse.providers.images.base import ImageProvider

CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "jpeg": "image/jpeg"}
EXTENSIONS = {"png": ".png", "webp": ".webp", "jpeg": ".jpg"}


def encode(rgb: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    im = Image.fromarray(rgb, "RGB")
    if fmt == "png":
        im.save(buf, "PNG", compress_level=3)
    elif fmt == "webp":
        im.save(buf, "WEBP", quality=92, method=4)
    else:
        im.save(buf, "JPEG", quality=92, subsampling=0)
    return buf.getvalue()


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as im:
        return np.asarray(im.convert("RGB"))


def compose_output(
    scene: Any, plan: Plan, canon: Canon, logo: np.ndarray, out: Output
) -> tuple[np.ndarray, composite.Layout]:
    """The deterministic picture for one output size, and where its parts went."""
    from renderhouse.generators.render.product_render import render_product

    w, h = out.width, out.height
    cut = render_product(scene, plan, w, h)
    pbox = composite.product_box(cut, plan.fill, plan.centre, w, h)
    lbox = composite.logo_box(canon.logo, logo.shape[:2], w, h)
    bg = composite.background_rgb(plan.background, w, h)
    rgb = composite.compose(bg, cut, pbox, logo, lbox)
    # Faint parts (a thin light antenna on a light background) count in the cut-out's box
    # but not in what a viewer, or the report, sees: measure once and correct to the plan.
    seen = measure.bounding_box(measure.product_mask(measure.foreground(rgb, bg)[0], lbox))
    if seen is not None:
        pbox = _corrected(pbox, seen, plan, w, h)
        rgb = composite.compose(bg, cut, pbox, logo, lbox)
    return rgb, composite.Layout(w, h, pbox, lbox)


def _corrected(
    pasted: composite.Box, seen: composite.Box, plan: Plan, w: int, h: int
) -> composite.Box:
    """The paste box that puts the visible box at the plan's fill and centre."""
    pw, ph = pasted[2] - pasted[0], pasted[3] - pasted[1]
    fill = max((seen[2] - seen[0]) / w, (seen[3] - seen[1]) / h)
    s = plan.fill / fill
    rcx = ((seen[0] + seen[2]) / 2 - pasted[0]) / pw
    rcy = ((seen[1] + seen[3]) / 2 - pasted[1]) / ph
    nw, nh = max(1, round(pw * s)), max(1, round(ph * s))
    x0 = round(plan.centre[0] * w - nw * rcx)
    y0 = round(plan.centre[1] * h - nh * rcy)
    return x0, y0, x0 + nw, y0 + nh


def default_providers() -> dict[str, Callable[[], ImageProvider]]:
    """Image providers configured by their own SDKs' environment variables
    (``OPENAI_API_KEY``/``OPENAI_BASE_URL``, ``GEMINI_API_KEY``/``GEMINI_BASE_URL``)."""
    from renderhouse.providers.images.gemini_images import GeminiImages
    from renderhouse.providers.images.openai_images import OpenAIImages

    return {"openai": OpenAIImages.from_environment, "gemini": GeminiImages.from_environment}


def run_render(
    ctx: Context,
    inp: RenderInput,
    cache: PlanCache,
    providers: dict[str, Callable[[], ImageProvider]] | None = None,
) -> dict[str, Any]:
    from renderhouse.generators.render.product_render import load_product, model_digest
    from renderhouse.generators.render.report_html import report_page

    t0 = time.perf_counter()
    canon = inp.canon
    steps = 2 + len(canon.outputs)
    ctx.progress(0, steps, "planning")
    logo = composite.trim(load_rgba(canon.logo.image, "logo"))
    if canon.background.kind == "image":
        assert canon.background.image is not None
        load_rgba(canon.background.image, "background")  # refuse a bad one before rendering
    digest = model_digest(Path(inp.model))
    llm = LLMPlanner(ctx.llm, inp.planner_model) if inp.planner == "llm" else None
    planning = plan_for(inp.brief, canon, digest, cache, llm)
    plan, hit = planning.plan, planning.hit
    plan_json = plan.model_dump_json(indent=1).encode()
    ctx.artifacts.put_bytes("plan.json", plan_json, "application/json")
    ctx.progress(1, steps, "loading model")
    scene = load_product(Path(inp.model), digest)
    outputs: list[dict[str, Any]] = []
    reports: list[tuple[str, Report]] = []
    provider = None
    if inp.mode == "ai":
        assert inp.provider is not None
        provider = (providers or default_providers())[inp.provider]()
    # Outputs finished by an earlier attempt are kept, not made again: on the AI path that
    # would pay the provider twice for the same picture.
    saved = (ctx.checkpoint.load() or {}).get("outputs") or {}
    stored = ctx.artifacts.existing()
    try:
        spent = 0
        for i, out in enumerate(canon.outputs):
            ctx.raise_if_cancelled()
            name = f"render_{out.width}x{out.height}{EXTENSIONS[out.format]}"
            if name in saved and name in stored:
                kept: dict[str, Any] = saved[name]
                reports.append((name, Report.model_validate(kept["report"])))
                outputs.append(kept)
                spent += int((kept.get("ai") or {}).get("cost_micro_usd", 0))
                continue
            rgb, _ = compose_output(scene, plan, canon, logo, out)
            reference, ai = None, None
            if provider is not None:
                from renderhouse.generators.render.ai.refine import refine

                ctx.progress(1.5 + i, steps, f"{provider.name}: refining {out.width}x{out.height}")
                refined = refine(ctx, provider, rgb, encode(rgb, "png"), plan.prompt, canon, logo)
                spent += refined.cost
                ai = refined.summary(provider.name)
                if refined.used == "ai":
                    reference, rgb = rgb, refined.rgb
            data = encode(rgb, out.format)
            ctx.artifacts.put_bytes(name, data, CONTENT_TYPES[out.format])
            report = check(decode(data), canon, logo, reference=reference)
            reports.append((name, report))
            entry: dict[str, Any] = {"file": name, "report": report.model_dump(mode="json")}
            if ai is not None:
                entry["ai"] = ai
            outputs.append(entry)
            saved[name] = entry
            ctx.checkpoint.save({"outputs": saved})
            ctx.progress(2 + i, steps, f"rendered {name}")
    finally:
        if provider is not None:
            provider.close()
    summary = {
        "passed": all(r.passed for _, r in reports),
        "score": min(r.score for _, r in reports),
        "mode": inp.mode,
        "planner": plan.planner,
        "planning": planning.summary(),
        "plan_cache_hit": hit,
        "outputs": outputs,
    }
    ctx.artifacts.put_bytes(
        "report.json", json.dumps(summary, indent=1).encode(), "application/json"
    )
    ctx.artifacts.put_bytes(
        "report.html",
        report_page(
            canon, plan, reports, {o["file"]: o["ai"] for o in outputs if "ai" in o}
        ).encode(),
        "text/html; charset=utf-8",
    )
    ctx.progress(steps, steps, "done")
    return {
        "images": [o["file"] for o in outputs],
        "plan": "plan.json",
        "report": "report.json",
        "report_html": "report.html",
        "passed": summary["passed"],
        "score": summary["score"],
        "plan_cache": {"hit": hit, **cache.stats()},
        "planning": summary["planning"],
        "llm_cost_credits": planning.cost,
        "provider_cost_micro_usd": spent,
        "seconds": round(time.perf_counter() - t0, 3),
        # The platform turns these into Prometheus series (its allow-list decides which).
        "metrics": {
            "plan_cache_hit": hit,
            "cost_usd": spent / 1_000_000,
            "compliance_score": summary["score"],
        },
    }
