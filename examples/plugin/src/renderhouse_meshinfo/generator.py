"""The ``meshinfo`` job kind. It imports only the plugin surface (``renderhouse.generators``
and ``renderhouse.errors``), as every generator must."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.fields import UploadedFile
from renderhouse_meshinfo.stats import mesh_stats


class MeshInfoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, UploadedFile("model/gltf-binary", max_mb=64)] = Field(
        description="the GLB to measure: upload:<id> over HTTP, a path on the CLI"
    )
    label: str = Field("", max_length=200, description="echoed in the result")


class MeshInfoGenerator(Generator):
    kind = "meshinfo"
    Input = MeshInfoInput
    default_timeout = 60.0
    resources = Resources(cpu=0.1, memory_mb=256, isolated=False)
    description = "Counts a GLB's meshes, vertices and triangles and measures its bounds."

    def estimate_cost(self, input: Any) -> int:
        return 1

    async def run(self, ctx: Context, input: MeshInfoInput) -> dict[str, Any]:  # type: ignore[override]
        ctx.progress(0, 1, "reading the model")
        stats = mesh_stats(Path(input.model))
        ctx.artifacts.put_bytes(
            "meshinfo.json", json.dumps(stats, indent=2).encode(), "application/json"
        )
        ctx.progress(1, 1, "done")
        return {"label": input.label, **{k: stats[k] for k in ("triangles", "vertices")}}
