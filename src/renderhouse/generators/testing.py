"""Generators for tests of the platform itself (crashes, timeouts, checkpoints). They are
not registered as entry points; tests add them to a ``Registry`` explicitly."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from renderhouse.errors import JobFailed
from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.queue.outcomes import FanOut, Snooze


class StepsInput(BaseModel):
    steps: int = 5
    step_seconds: float = 0.0
    pause_at: int | None = None
    """Write ``pause_file`` and wait for ``release_file`` before doing step ``pause_at``."""
    pause_file: str | None = None
    release_file: str | None = None
    log_file: str | None = None
    fail_times: int = 0
    crash_at: int | None = None


class StepsGenerator(Generator):
    """Does ``steps`` steps, checkpointing after each; resumes from the checkpoint. Appends
    "attempt:step" to ``log_file`` for every step it actually does, so a test can prove no
    step is done twice after a crash."""

    kind = "test.steps"
    Input = StepsInput
    default_timeout = 60.0
    resources = Resources(isolated=True)

    def run(self, ctx: Context, input: StepsInput) -> dict[str, Any]:  # type: ignore[override]
        state = ctx.checkpoint.load() or {"done": 0}
        if ctx.attempt <= input.fail_times:
            raise JobFailed(f"planned failure on attempt {ctx.attempt}", code="planned_failure")
        for step in range(state["done"], input.steps):
            ctx.raise_if_cancelled()
            if step == input.pause_at and input.pause_file and input.release_file:
                Path(input.pause_file).write_text(str(os.getpid()))
                while not Path(input.release_file).exists():
                    ctx.raise_if_cancelled()
                    time.sleep(0.01)
            if step == input.crash_at:
                os.kill(os.getpid(), signal.SIGKILL)
            if input.step_seconds:
                time.sleep(input.step_seconds)
            if input.log_file:
                with open(input.log_file, "a") as fh:
                    fh.write(f"{ctx.attempt}:{step}\n")
            ctx.artifacts.put_bytes(f"step-{step}.txt", f"step {step}".encode(), "text/plain")
            ctx.checkpoint.save({"done": step + 1})
            ctx.progress(step + 1, input.steps, f"step {step + 1}")
        return {"steps": input.steps}


class SleepInput(BaseModel):
    seconds: float = 1.0
    ignore_cancel: bool = False


class SleepGenerator(Generator):
    """Sleeps; with ``ignore_cancel`` it never looks at the cancel flag (must be killed)."""

    kind = "test.sleep"
    Input = SleepInput
    default_timeout = 60.0
    resources = Resources(isolated=True)

    def run(self, ctx: Context, input: SleepInput) -> dict[str, Any]:  # type: ignore[override]
        end = time.monotonic() + input.seconds
        while time.monotonic() < end:
            if not input.ignore_cancel:
                ctx.raise_if_cancelled()
            time.sleep(0.01)
        return {"slept": input.seconds}


class SnoozeInput(BaseModel):
    times: int = 1


class SnoozeGenerator(Generator):
    kind = "test.snooze"
    Input = SnoozeInput
    resources = Resources(isolated=False)

    async def run(self, ctx: Context, input: SnoozeInput) -> Any:  # type: ignore[override]
        state = ctx.checkpoint.load() or {"snoozed": 0}
        if state["snoozed"] < input.times:
            ctx.checkpoint.save({"snoozed": state["snoozed"] + 1})
            return Snooze(0.0)
        return {"snoozed": state["snoozed"]}


class FanInput(BaseModel):
    parts: int = 3
    part: int | None = None
    fail_part: int | None = None


class FanGenerator(Generator):
    """Splits into ``parts`` children, each writing one artifact; the parent then merges
    the children's artifacts into one."""

    kind = "test.fan"
    Input = FanInput
    resources = Resources(isolated=True)

    def run(self, ctx: Context, input: FanInput) -> Any:  # type: ignore[override]
        if input.part is not None:
            if input.part == input.fail_part:
                raise JobFailed(f"part {input.part} fails", code="part_failed")
            ctx.artifacts.put_bytes(
                f"part-{input.part}.txt", f"<{input.part}>".encode(), "text/plain"
            )
            return {"part": input.part}
        children = ctx.children()
        if not children:
            return FanOut(
                [
                    {"parts": input.parts, "part": i, "fail_part": input.fail_part}
                    for i in range(input.parts)
                ]
            )
        if any(c["state"] != "succeeded" for c in children):
            raise JobFailed("a part failed", code="child_failed")
        merged = b"".join(
            ctx.artifacts.read(c["artifacts"][f"part-{c['input']['part']}.txt"]) for c in children
        )
        ctx.artifacts.put_bytes("merged.txt", merged, "text/plain")
        return {"merged": len(children)}


TEST_GENERATORS: list[type[Generator]] = [
    StepsGenerator,
    SleepGenerator,
    SnoozeGenerator,
    FanGenerator,
]
