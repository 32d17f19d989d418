"""The AI path for one picture: our deterministic render goes to the image provider under a
budget hold; what comes back is used only if it still shows our product (mask IoU and
median ΔE00 inside the product against our render, thresholds in the canon). A failed check
is retried once; then the deterministic picture is used and the report says why."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from renderhouse.generators.context import Context
from renderhouse.generators.render.canon import Canon
from renderhouse.generators.render.report import Report, check
from renderhouse.providers.images.base import ImageProvider, ProviderRefused

ATTEMPTS = 2
PRESERVATION = ("preservation_iou", "preservation_colour")


@dataclass
class Refined:
    rgb: np.ndarray
    report: Report
    used: str  # "ai" | "deterministic"
    attempts: int = 0
    cost: int = 0
    """Micro-dollars the provider reported, all attempts."""
    notes: list[str] = field(default_factory=list)

    def summary(self, provider: str) -> dict[str, Any]:
        return {
            "provider": provider,
            "used": self.used,
            "attempts": self.attempts,
            "cost_micro_usd": self.cost,
            "notes": self.notes,
        }


def _decode(data: bytes, width: int, height: int) -> np.ndarray | None:
    """The provider's picture at the output size (stretched back: the provider drew our
    whole frame into its own canvas size), or None if it is not a picture."""
    import io

    try:
        with Image.open(io.BytesIO(data)) as im:
            if im.width * im.height > 4096 * 4096:
                return None
            rgb = im.convert("RGB")
            if rgb.size != (width, height):
                rgb = rgb.resize((width, height), Image.Resampling.LANCZOS)
            return np.asarray(rgb)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None


def refine(
    ctx: Context,
    provider: ImageProvider,
    reference: np.ndarray,
    png: bytes,
    prompt: str,
    canon: Canon,
    logo: np.ndarray,
) -> Refined:
    h, w = reference.shape[:2]
    out = Refined(reference, check(reference, canon, logo), "deterministic")
    for attempt in range(1, ATTEMPTS + 1):
        ctx.raise_if_cancelled()
        with ctx.spend(provider.estimate(w, h), provider=provider.name) as call:
            try:
                result = provider.edit(png, prompt, w, h)
            except ProviderRefused:
                call.settle(0)  # refused requests are not charged
                raise
            call.settle(result.cost)
        out.attempts, out.cost = attempt, out.cost + result.cost
        rgb = _decode(result.png, w, h)
        if rgb is None:
            out.notes.append(f"attempt {attempt}: the provider's answer is not a picture")
            continue
        report = check(rgb, canon, logo, reference=reference)
        failed = report.failed() & set(PRESERVATION)
        if not failed:
            out.rgb, out.report, out.used = rgb, report, "ai"
            return out
        measured = {r.id: r.measured for r in report.rules if r.id in PRESERVATION}
        out.notes.append(f"attempt {attempt}: product not preserved {measured}")
    out.notes.append("used the deterministic picture: the AI picture did not keep the product")
    return out
