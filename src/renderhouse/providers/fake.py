"""An in-process provider for tests and benchmarks: answers by echoing the last user
message after a fixed latency, or plays a script of failures first (``"429"``,
``"500"``, ``"timeout"``, ``"reject"``, ``"truncate"``), one entry per call."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Iterable

from renderhouse.providers.base import (
    ChatRequest,
    Completion,
    Delta,
    StreamEvent,
    Usage,
    estimate_tokens,
    message_text,
)
from renderhouse.providers.errors import (
    ProviderProtocolError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)


class FakeProvider:
    name = "fake"

    def __init__(
        self,
        *,
        latency: float = 0.0,
        script: Iterable[str] = (),
        models: Iterable[str] = ("fake-model",),
        reply: str | None = None,
    ) -> None:
        self.latency, self.reply = latency, reply
        self.script: deque[str] = deque(script)
        self.models = list(models)
        self.calls = 0
        self.probes = 0

    def plan(self, *steps: str) -> None:
        self.script.extend(steps)

    def _answer(self, request: ChatRequest) -> str:
        if self.reply is not None:
            return self.reply
        text = message_text(request.messages[-1:]) or "nothing"
        return f"echo: {text}"

    def _step(self) -> str:
        self.calls += 1
        return self.script.popleft() if self.script else "ok"

    async def _fail(self, step: str, timeout: float) -> None:
        if step == "429":
            raise ProviderRateLimited("fake is rate limiting", retry_after=1.0)
        if step == "500":
            raise ProviderUnavailable("fake failed (500)")
        if step == "reject":
            raise ProviderRejected("fake rejected the request")
        if step == "timeout":
            await asyncio.sleep(timeout)
            raise ProviderTimeout("fake did not answer in time")

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        step = self._step()
        await self._fail(step, timeout)
        if self.latency:
            await asyncio.sleep(self.latency)
        text = self._answer(request)
        words = text.split(" ")
        if request.max_tokens is not None:
            words = words[: request.max_tokens]
        out = " ".join(words)
        usage = Usage(estimate_tokens(message_text(request.messages)), len(words))
        finish = "length" if len(words) < len(text.split(" ")) else "stop"
        return Completion({"role": "assistant", "content": out}, finish, usage)

    async def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        step = self._step()
        await self._fail(step, timeout)
        if self.latency:
            await asyncio.sleep(self.latency)
        words = self._answer(request).split(" ")
        limit = request.max_tokens if request.max_tokens is not None else len(words)
        sent = words[:limit]
        yield Delta({"role": "assistant", "content": ""})
        for i, word in enumerate(sent):
            if step == "truncate" and i == len(sent) // 2:
                raise ProviderProtocolError(
                    "fake ended the stream early", code="provider_stream_truncated"
                )
            yield Delta({"content": word if i == 0 else " " + word})
        yield Delta({}, "length" if len(sent) < len(words) else "stop")
        yield Usage(estimate_tokens(message_text(request.messages)), len(sent))

    async def list_models(self, *, timeout: float) -> list[str]:
        self.probes += 1
        if self.script and self.script[0] == "down":
            raise ProviderUnavailable("fake is down")
        return list(self.models)

    async def aclose(self) -> None:
        return None
