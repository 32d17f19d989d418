"""The ``render`` job's input: a brief, the product model, the brand canon and the mode."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from renderhouse.generators.fields import UploadedFile
from renderhouse.generators.render.canon import Canon

MODEL_FILE = UploadedFile("model/gltf-binary", "model/gltf+json", "model/gltf+zip", max_mb=200)
MAX_BRIEF = 4000
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$"
"""A model name as the deployment's model registry spells them."""


class RenderInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    brief: str = Field(
        min_length=1,
        max_length=MAX_BRIEF,
        description="what the picture is for: mood, angle, placement, in plain words",
    )
    model: Annotated[str, MODEL_FILE] = Field(description="the product: .glb/.gltf")
    canon: Canon = Field(description="the brand canon, inline (see docs/render.md)")
    mode: Literal["deterministic", "ai"] = "deterministic"
    provider: Literal["openai", "gemini"] | None = Field(
        None, description="the image provider for mode=ai"
    )
    planner: Literal["rules", "llm"] = Field(
        "rules", description="who plans camera, light and framing: rules, or a language model"
    )
    planner_model: str | None = Field(
        None,
        pattern=MODEL_NAME,
        description="for planner=llm: a model of GET /v1/models (default: the deployment's)",
    )
