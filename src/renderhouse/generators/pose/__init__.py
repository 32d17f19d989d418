"""The ``pose`` generator: a rigged glTF humanoid + poses from the library in, a posed render
per pose (plus a contact sheet and, on request, posed GLBs) out.

Importing this package stays cheap; numpy, the renderer and the avatar loaders load on the
first ``run`` and stay warm in the worker process.
"""

from __future__ import annotations

from typing import Any, ClassVar

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.outcomes import Success
from renderhouse.generators.pose.options import PoseInput, credits_per_pose

__all__ = ["PoseGenerator", "PoseInput"]


class PoseGenerator(Generator):
    kind: ClassVar[str] = "pose"
    Input: ClassVar[type[PoseInput]] = PoseInput
    resources: ClassVar[Resources] = Resources(cpu=2.0, memory_mb=1536, isolated=True)
    default_timeout: ClassVar[float] = 600.0
    # No ``paid_providers``, as for ``render``: declaring one would make the API refuse every
    # pose job, the deterministic ones too, while that provider's budget is spent. The AI
    # path's calls are held by ``ctx.spend``, which fails the job with ``budget_exhausted``
    # (final, credits voided) before any call a budget cannot take.
    paid_providers: ClassVar[tuple[str, ...]] = ()
    description: ClassVar[str] = (
        "Pose a rigged glTF humanoid from the pose library and render it; optionally a 2D "
        "picture per pose from an image provider"
    )

    def estimate_cost(self, input: Any) -> int:
        return input.count * credits_per_pose(input.size)

    def run(self, ctx: Context, input: Any) -> Success:
        from renderhouse.generators.pose.job import run_pose

        return run_pose(ctx, input)
