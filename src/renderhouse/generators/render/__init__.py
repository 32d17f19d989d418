"""The ``render`` generator: a brief, a product model and a brand canon in; an on-brand
picture of the real product, the plan that made it and a measured brand-canon report out.

Importing this package stays cheap: numpy, OpenCV, colour-science and the renderer load on
the first ``run`` and stay warm in the worker for the next job.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from renderhouse.errors import InvalidInput
from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.render.canon import validation_code
from renderhouse.generators.render.options import RenderInput

__all__ = ["RenderGenerator", "RenderInput"]


class RenderGenerator(Generator):
    kind: ClassVar[str] = "render"
    Input: ClassVar[type[RenderInput]] = RenderInput
    resources: ClassVar[Resources] = Resources(cpu=2.0, memory_mb=2048, isolated=True)
    default_timeout: ClassVar[float] = 600.0
    # Not declared as ``paid_providers``: the API refuses every job of a kind that declares
    # one while its budget is spent, and the deterministic path (most jobs) spends nothing.
    # The AI path's calls are held by ``ctx.spend``, which fails the job with
    # ``budget_exhausted`` (final, nothing charged) before any call a budget cannot take.
    paid_providers: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = (
        "An on-brand picture of a glTF/GLB product per a brand canon, with a measured report"
    )

    def __init__(self) -> None:
        self._plan_cache: Any = None

    @property
    def plan_cache(self) -> Any:
        """Process-wide, in the renderer's cache directory (shared by the workers of a host)."""
        if self._plan_cache is None:
            from renderhouse.generators.render.plan_cache import PlanCache
            from renderhouse.scene.environment import default_cache_dir

            self._plan_cache = PlanCache(default_cache_dir() / "render-plans")
        return self._plan_cache

    def estimate_cost(self, input: Any) -> int:
        pixels = sum(o.width * o.height for o in input.canon.outputs)
        return max(1, round(pixels / (1024 * 1024)))

    def parse_input(self, data: Any) -> BaseModel:
        parsed = self.parse_with_codes(self, data)
        if getattr(parsed, "mode", None) == "ai" and getattr(parsed, "provider", None) is None:
            raise InvalidInput(
                "mode 'ai' needs a provider: 'openai' or 'gemini'",
                details={"field": "provider"},
            )
        return parsed

    @staticmethod
    def parse_with_codes(generator: Generator, data: Any) -> BaseModel:
        """As ``Generator.parse_input``, with the canon's own error code (``invalid_colour``,
        ``invalid_logo``, …) instead of the generic one."""
        try:
            return generator.Input.model_validate(data)
        except ValidationError as exc:
            errors = [
                {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                for e in exc.errors()
            ]
            code = validation_code(exc.errors())  # type: ignore[arg-type]
            if code == "invalid_canon" and not any(e["field"].startswith("canon") for e in errors):
                code = "invalid_input"
            first = errors[0]
            raise InvalidInput(
                f"invalid input for {generator.kind}: {first['field']}: {first['message']}",
                code=code,
                details={"errors": errors},
            ) from exc

    def run(self, ctx: Context, input: Any) -> dict[str, Any]:
        from renderhouse.generators.render.job import run_render

        return run_render(ctx, input, self.plan_cache)
