"""Generators for tests of the platform itself (crashes, timeouts, checkpoints, paid calls
under budget). They are not registered as entry points; tests add them to a ``Registry``
explicitly."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, Field

from renderhouse.errors import JobFailed
from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.outcomes import FanOut, Snooze


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


class HogInput(BaseModel):
    allocate_mb: int | None = None
    """Allocate this much (None: without bound) in 16 MiB blocks, each one written to."""
    xcpu: bool = False
    """Send itself SIGXCPU, as the kernel does at the CPU-time limit."""
    crash: bool = False
    """Raise an uncaught error, as a loader crashing on hostile input does."""


class HogGenerator(Generator):
    """Tests the limits a pool child runs under; reports the soft limits it saw."""

    kind = "test.hog"
    Input = HogInput
    default_timeout = 60.0
    resources = Resources(memory_mb=256, isolated=True)

    def run(self, ctx: Context, input: HogInput) -> dict[str, Any]:  # type: ignore[override]
        import resource

        if input.crash:
            raise RuntimeError("the loader crashed on this input")
        if input.xcpu:
            os.kill(os.getpid(), signal.SIGXCPU)
            time.sleep(5)
        held, block = [], 16 << 20
        while input.allocate_mb is None or len(held) * 16 < input.allocate_mb:
            chunk = bytearray(block)
            chunk[:: 1 << 12] = b"x" * (block >> 12)  # touch every page
            held.append(chunk)
        return {
            "allocated_mb": len(held) * 16,
            "rlimit_as": resource.getrlimit(resource.RLIMIT_AS)[0],
            "rlimit_cpu": resource.getrlimit(resource.RLIMIT_CPU)[0],
        }


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


class ChatInput(BaseModel):
    base_url: str = Field(description="an OpenAI-style API, e.g. http://127.0.0.1:8000")
    api_key: str = "sk-test"
    model: str = "gpt-test"
    prompt: str = "Say hello."
    calls: int = Field(default=1, ge=1, le=100)
    max_tokens: int = Field(default=64, ge=1, le=100_000)
    price_per_token: int = Field(default=1, ge=0, description="money units per token")
    crash_in_call: bool = False
    """SIGKILL the process once the provider has answered, before settling."""


def _most_a_call_costs(input: ChatInput) -> int:
    """A token is at least one character, so the prompt's length bounds its tokens."""
    return (len(input.prompt) + input.max_tokens) * input.price_per_token


def _chat_request(input: ChatInput) -> dict[str, Any]:
    messages = [{"role": "user", "content": input.prompt}]
    return {"model": input.model, "messages": messages, "max_tokens": input.max_tokens}


def _cost(input: ChatInput, reply: httpx.Response) -> int:
    reply.raise_for_status()
    usage = reply.json()["usage"]
    return int(usage["prompt_tokens"] + usage["completion_tokens"]) * input.price_per_token


class ChatGenerator(Generator):
    """Calls an OpenAI-style ``POST /v1/chat/completions`` ``calls`` times, each inside
    ``ctx.spend``: held at the most the call can cost, settled at what its ``usage`` says."""

    kind = "test.chat"
    Input = ChatInput
    default_timeout = 60.0
    resources = Resources(isolated=True)
    paid_providers = ("openai",)

    def run(self, ctx: Context, input: ChatInput) -> dict[str, Any]:  # type: ignore[override]
        spent = 0
        headers = {"Authorization": f"Bearer {input.api_key}"}
        with httpx.Client(base_url=input.base_url, headers=headers, timeout=10) as client:
            for i in range(input.calls):
                ctx.raise_if_cancelled()
                with ctx.spend(_most_a_call_costs(input), provider="openai") as call:
                    reply = client.post("/v1/chat/completions", json=_chat_request(input))
                    if input.crash_in_call:
                        os.kill(os.getpid(), signal.SIGKILL)
                    call.settle(cost := _cost(input, reply))
                spent += cost
                ctx.progress(i + 1, input.calls, f"call {i + 1}")
        return {"calls": input.calls, "spent": spent}


class ChatInlineGenerator(ChatGenerator):
    """The same over ``httpx.AsyncClient`` on the worker's event loop (``InlineContext``)."""

    kind = "test.chat_inline"
    resources = Resources(isolated=False)

    async def run(self, ctx: Context, input: ChatInput) -> dict[str, Any]:  # type: ignore[override]
        spent = 0
        headers = {"Authorization": f"Bearer {input.api_key}"}
        async with httpx.AsyncClient(
            base_url=input.base_url, headers=headers, timeout=10
        ) as client:
            for i in range(input.calls):
                ctx.raise_if_cancelled()
                with ctx.spend(_most_a_call_costs(input), provider="openai") as call:
                    reply = await client.post("/v1/chat/completions", json=_chat_request(input))
                    call.settle(cost := _cost(input, reply))
                spent += cost
                ctx.progress(i + 1, input.calls, f"call {i + 1}")
        return {"calls": input.calls, "spent": spent}


TEST_GENERATORS: list[type[Generator]] = [
    StepsGenerator,
    SleepGenerator,
    HogGenerator,
    SnoozeGenerator,
    FanGenerator,
    ChatGenerator,
    ChatInlineGenerator,
]
