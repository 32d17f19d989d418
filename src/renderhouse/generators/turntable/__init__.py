"""The ``turntable`` generator: a glTF/GLB model in, a 360° spin of frames out (plus sprite
sheets, video, manifest and an HTML viewer on request).

Importing this package stays cheap (no numpy, moderngl or Pillow): the heavy modules load on
the first ``run``, and stay loaded — with the GL context, compiled shaders and prefiltered
lighting — for every later job in the same worker process.
"""

from __future__ import annotations

from typing import Any, ClassVar

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.turntable.options import TurntableInput

__all__ = ["TurntableGenerator", "TurntableInput"]


class TurntableGenerator(Generator):
    kind: ClassVar[str] = "turntable"
    Input: ClassVar[type[TurntableInput]] = TurntableInput
    resources: ClassVar[Resources] = Resources(cpu=2.0, memory_mb=2048, isolated=True)
    default_timeout: ClassVar[float] = 900.0
    description: ClassVar[str] = "Render a 360° turntable of a glTF/GLB model"

    def estimate_cost(self, input: Any) -> int:
        w, h = input.frame_size
        return max(1, round(input.frames * len(input.elevations) * w * h / (1024 * 1024)))

    def run(self, ctx: Context, input: Any) -> dict[str, Any]:
        from renderhouse.generators.turntable.job import run_turntable

        return run_turntable(ctx, input)
