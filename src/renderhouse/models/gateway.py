"""One chat request through the platform: checked against the model's limits, its maximum
cost held, routed (fallbacks, retries, breakers), settled on the usage the provider
reported, recorded and counted. The HTTP routes are a thin layer over this."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

import anyio
import anyio.to_thread
from sqlalchemy import Connection

from renderhouse.accounts import User
from renderhouse.errors import InvalidInput
from renderhouse.models import charges, instruments
from renderhouse.models.charges import Charge
from renderhouse.models.deployments import Deployment
from renderhouse.models.registry import ModelRegistry
from renderhouse.models.routing import Routed, RoutedStream, Router
from renderhouse.models.token_limits import TokenLimits
from renderhouse.providers.base import (
    ChatRequest,
    Delta,
    StreamEvent,
    Usage,
    delivered_tokens,
    estimate_tokens,
    message_text,
)
from renderhouse.providers.errors import ProviderError
from renderhouse.store.database import Store

PER_MESSAGE_TOKENS = 4
"""Chat templates wrap each message in a few tokens of their own."""


class ContextTooLong(InvalidInput):
    code = "context_length_exceeded"
    http_status = 400


@dataclass
class Plan:
    model: str
    request: ChatRequest
    prompt_tokens: int
    chain: list[Deployment]
    max_cost: int


def plan_request(registry: ModelRegistry, request: ChatRequest) -> Plan:
    """The request as it will be sent (max_tokens bounded by the model) and what it
    may cost at most; refuses what no deployment could take."""
    model = registry.get(request.model)
    prompt = estimate_tokens(message_text(request.messages))
    prompt += PER_MESSAGE_TOKENS * len(request.messages)
    limit = model.max_output_tokens
    max_tokens = limit if request.max_tokens is None else min(request.max_tokens, limit)
    if prompt + 1 > model.context_tokens:
        raise ContextTooLong(
            f"the messages are about {prompt} tokens and {request.model} takes "
            f"{model.context_tokens}; shorten them or pick a model with a longer context",
            details={"prompt_tokens": prompt, "context_tokens": model.context_tokens},
        )
    chain = registry.chain(request.model)
    max_cost = max(d.cost(prompt, max_tokens) for d in chain)
    return Plan(request.model, replace(request, max_tokens=max_tokens), prompt, chain, max_cost)


@functools.lru_cache(maxsize=4096)
def _series(metric: Any, *labels: str) -> Any:
    """``metric.labels(*labels)``, looked up once: prometheus_client validates and locks on
    every ``labels`` call, and a settled request makes seven or more of them on the event
    loop. Labels are model, outcome and deployment names: a bounded set."""
    return metric.labels(*labels)


Work = Callable[[Connection], Any]
Committer = Callable[[Work, str], "Future[Any]"]
"""Runs ``work(conn)`` in a transaction (the API's group commit shares one among
concurrent requests, so a busy server pays one durable COMMIT per batch)."""


class Gateway:
    def __init__(
        self,
        registry: ModelRegistry,
        store: Store,
        commit: Committer | None = None,
        limits: TokenLimits | None = None,
        limits_in_process: bool = True,
    ) -> None:
        self.registry, self.store, self.commit = registry, store, commit
        self.router = Router(registry)
        self.limits, self.limits_in_process = limits, limits_in_process

    async def _limit(self, fn: Callable[[], None]) -> None:
        """Token limits: on the event loop when counted in process, else (Redis) in a
        thread."""
        if self.limits is None:
            return
        if self.limits_in_process:
            fn()
        else:
            await anyio.to_thread.run_sync(fn)

    async def _write(self, work: Work, order: str) -> Any:
        if self.commit is not None:
            return await asyncio.wrap_future(self.commit(work, order))

        def alone() -> Any:
            with self.store.begin() as conn:
                return work(conn)

        return await anyio.to_thread.run_sync(alone)

    def plan(self, request: ChatRequest) -> Plan:
        return plan_request(self.registry, request)

    async def _reserve(self, user: User, plan: Plan) -> Charge:
        if self.limits is not None:
            limits = self.limits
            await self._limit(lambda: limits.admit(user, plan.prompt_tokens))
        charge = Charge(charges.new_request_id(), user.id, plan.model, plan.max_cost)
        if charge.amount > 0:
            accounts = {d.settings.account for d in plan.chain}
            await self._write(lambda conn: charges.reserve(conn, charge, accounts), user.id)
        return charge

    async def _settle(
        self,
        charge: Charge,
        user: User,
        plan: Plan,
        deployment: Deployment | None,
        usage: Usage | None,
        error: str | None,
        started: float,
        ttft: float | None = None,
        source: str = "api",
        job_id: str | None = None,
    ) -> None:
        prompt = usage.prompt_tokens if usage and usage.prompt_tokens else plan.prompt_tokens
        completion = usage.completion_tokens if usage else 0
        cost = deployment.cost(prompt, completion) if deployment and usage else 0
        latency = time.monotonic() - started
        row = {
            "key_prefix": user.key_prefix,
            "deployment": deployment.id if deployment else None,
            "source": source,
            "job_id": job_id,
            "ok": error is None,
            "error_code": error,
            "prompt_tokens": prompt if usage else 0,
            "completion_tokens": completion,
            "latency_ms": latency * 1000,
            "ttft_ms": None if ttft is None else ttft * 1000,
        }
        account = deployment.settings.account if deployment else None
        if charge.settled:
            return
        charge.settled = True
        with anyio.CancelScope(shield=True):
            charged = await self._write(
                lambda conn: charges.settle(conn, charge, cost, provider_account=account, row=row),
                charge.owner,
            )
        if usage and self.limits is not None:
            limits = self.limits
            await self._limit(lambda: limits.count(user, prompt + completion))
        m = plan.model
        _series(instruments.REQUESTS, m, "ok" if error is None else error).inc()
        _series(instruments.LATENCY, m).observe(latency)
        if usage:
            _series(instruments.TOKENS, m, "prompt").inc(prompt)
            _series(instruments.TOKENS, m, "completion").inc(completion)
        if charged:
            _series(instruments.COST, m).inc(charged)
        if ttft is not None:
            _series(instruments.TTFT, m).observe(ttft)
        if deployment is not None and plan.chain and deployment is not plan.chain[0]:
            _series(instruments.FALLBACKS, m).inc()
        for d in plan.chain:  # instruments.observe_breakers, with the series looked up once
            _series(instruments.BREAKER, d.id).set(instruments.STATE_VALUE.get(d.breaker.state, 0))

    def _deadline(self, at_most: float | None = None) -> float:
        own = time.monotonic() + self.registry.settings.deadline_seconds
        return own if at_most is None else min(own, at_most)

    async def complete(
        self,
        user: User,
        request: ChatRequest,
        *,
        source: str = "api",
        job_id: str | None = None,
        deadline: float | None = None,
    ) -> tuple[Routed, Charge]:
        """One completion. ``source`` and ``job_id`` say who asked on the usage row (a
        job's ``ctx.llm``: ``job:<kind>`` and its id); ``deadline`` (monotonic) may only
        shorten the registry's."""
        plan = self.plan(request)
        charge = await self._reserve(user, plan)
        started = time.monotonic()
        try:
            routed = await self.router.complete(
                plan.model, plan.request, deadline=self._deadline(deadline)
            )
        except ProviderError as exc:
            await self._settle(
                charge, user, plan, None, None, exc.code, started, source=source, job_id=job_id
            )
            raise
        except BaseException:
            await self._settle(
                charge, user, plan, None, None, "cancelled", started, source=source, job_id=job_id
            )
            raise
        used = routed.completion.usage
        await self._settle(
            charge, user, plan, routed.deployment, used, None, started, source=source, job_id=job_id
        )
        return routed, charge

    async def stream(self, user: User, request: ChatRequest) -> ChatStream:
        """A stream whose first event is in hand: every failure before it is raised here
        (so the caller can still answer with an HTTP error)."""
        plan = self.plan(request)
        charge = await self._reserve(user, plan)
        started = time.monotonic()
        try:
            routed = await self.router.stream(plan.model, plan.request, deadline=self._deadline())
        except ProviderError as exc:
            await self._settle(charge, user, plan, None, None, exc.code, started)
            raise
        except BaseException:
            await self._settle(charge, user, plan, None, None, "cancelled", started)
            raise
        return ChatStream(self, user, plan, charge, routed, started)


class ChatStream:
    """Events of a routed stream; settles exactly once when iteration stops, on the usage
    the provider reported or, if the stream broke or the reader left, on what was
    delivered."""

    def __init__(
        self,
        gateway: Gateway,
        user: User,
        plan: Plan,
        charge: Charge,
        routed: RoutedStream,
        started: float,
    ) -> None:
        self.gateway, self.user, self.plan, self.charge = gateway, user, plan, charge
        self.routed, self.started = routed, started
        self.usage: Usage | None = None
        self.delivered = 0
        self.error: str | None = None

    @property
    def deployment(self) -> Deployment:
        return self.routed.deployment

    async def events(self) -> AsyncIterator[StreamEvent]:
        error: str | None = "cancelled"
        try:
            async for event in self.routed.events():
                if isinstance(event, Usage):
                    self.usage = event
                elif isinstance(event, Delta):
                    self.delivered += delivered_tokens(event.delta)
                yield event
            error = None
        except ProviderError as exc:
            error = exc.code
            raise
        finally:
            self.error = error
            usage = self.usage or Usage(self.plan.prompt_tokens, self.delivered)
            await self.gateway._settle(
                self.charge,
                self.user,
                self.plan,
                self.deployment,
                usage,
                error,
                self.started,
                ttft=self.routed.ttft,
            )
