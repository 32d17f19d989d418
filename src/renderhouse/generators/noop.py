"""``noop``: does nothing, instantly. For smoke tests, demos and queue benchmarks."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context


class NoopInput(BaseModel):
    message: str = Field(default="hello", max_length=1000)


class NoopGenerator(Generator):
    kind = "noop"
    Input = NoopInput
    default_timeout = 30.0
    resources = Resources(cpu=0.0, memory_mb=0, isolated=False)
    description = "Returns its input at once; for smoke tests and queue benchmarks."

    async def run(self, ctx: Context, input: NoopInput) -> dict[str, Any]:  # type: ignore[override]
        return {"echo": input.message}
