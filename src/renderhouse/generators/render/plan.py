"""The render plan: every decision between a brief and a picture, as one validated object.

The rules planner reads the brief for a few plain words (camera angle, height, mood,
closeness) and keeps every choice inside the canon's ranges, so a plan it makes always
yields a compliant picture. The same brief, canon and model always give the same plan.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from renderhouse.generators.render.canon import Background, Canon, Output

RULES_PLANNER = "rules-1"


class Fallback(BaseModel):
    """Why the planner the caller asked for did not make this plan (the rules planner
    did): a stable code and a sentence."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=80)
    message: str = Field(max_length=2000)


class Plan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    planner: str = RULES_PLANNER
    azimuth: float = Field(ge=-360.0, le=360.0)
    """Degrees the product turns about its vertical axis (0: the model's front)."""
    elevation: float = Field(ge=-89.0, le=89.0)
    """Camera height in degrees above the horizon."""
    fov: float = Field(default=35.0, ge=10.0, le=90.0)
    distance: float = Field(ge=1.0, le=100.0)
    """Camera distance in bounding-sphere radii."""
    fill: float = Field(gt=0.0, le=1.0)
    """Product fill the composite aims for (inside the canon's range)."""
    centre: tuple[float, float]
    lighting: Literal["studio", "soft", "contrast"] = "studio"
    exposure: float = Field(default=1.0, gt=0.0, le=4.0)
    background: Background
    logo_placement: str
    outputs: list[Output]
    prompt: str = ""
    """For the AI path: what the image model is asked to do with our render."""
    fallback: Fallback | None = None
    """Set when an LLM plan was asked for and the rules planner made this one instead."""


_WORDS: dict[str, list[tuple[str, Any]]] = {
    "azimuth": [
        (r"\b(back|rear)\b", 180.0),
        (r"\b(side|profile)\b", 90.0),
        (r"\b(front|frontal|straight[- ]on)\b", 0.0),
        (r"\b(three[- ]quarters?|3/4)\b", 35.0),
    ],
    "mood": [
        (r"\b(dramatic|bold|night|moody|premium|luxury|dark)\b", ("contrast", 0.9)),
        (r"\b(soft|calm|airy|gentle|minimal|light|bright|fresh)\b", ("soft", 1.1)),
    ],
    "height": [
        (r"\b(top[- ]down|overhead|above|high[- ]angle)\b", "high"),
        (r"\b(low[- ]angle|heroic|hero|from below)\b", "low"),
    ],
    "closeness": [
        (r"\b(close[- ]up|detail|tight|macro)\b", "close"),
        (r"\b(wide|space|room|copy space|airy)\b", "wide"),
    ],
}


def _first(kind: str, brief: str, default: Any) -> Any:
    for pattern, value in _WORDS[kind]:
        if re.search(pattern, brief):
            return value
    return default


def preservation_prompt(canon: Canon) -> str:
    """What every image-model prompt says, whoever planned it: keep the product as it is."""
    colours = ", ".join(c.hex for c in canon.palette if c.role in ("primary", "accent"))
    return (
        "Keep the product exactly as it is: same shape, colours, position and size. Only "
        f"refine lighting and surface realism. Brand colours: {colours}. Do not add text, "
        "logos or other objects."
    )


def rules_plan(brief: str, canon: Canon) -> Plan:
    """The default planner: brief words → camera, light and fill, clamped to the canon."""
    text = brief.lower()
    fr = canon.framing
    azimuth = float(_first("azimuth", text, 30.0))
    mood: Any = _first("mood", text, ("studio", 1.0))
    lighting, exposure = mood
    height = _first("height", text, "mid")
    elevation = {
        "high": fr.elevation_max,
        "low": fr.elevation_min,
        "mid": (fr.elevation_min + fr.elevation_max) / 2,
    }[str(height)]
    closeness = _first("closeness", text, "mid")
    span = fr.fill_max - fr.fill_min
    # stay a little inside the range so resampling never lands on the edge
    fill = {
        "close": fr.fill_max - 0.15 * span,
        "wide": fr.fill_min + 0.15 * span,
        "mid": (fr.fill_min + fr.fill_max) / 2,
    }[str(closeness)]
    prompt = f"{brief.strip()}. {preservation_prompt(canon)}"
    return Plan(
        azimuth=azimuth,
        elevation=elevation,
        distance=3.5,
        fill=round(fill, 4),
        centre=fr.centre,
        lighting=lighting,
        exposure=exposure,
        background=canon.background,
        logo_placement=canon.logo.placement,
        outputs=canon.outputs,
        prompt=prompt,
    )
