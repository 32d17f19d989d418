"""Sending one request to a model: its deployments in order, then its fallbacks', each
tried ``1 + retries`` times on failures that may pass (429, 5xx, timeouts, malformed
answers), skipping deployments whose breaker is open, all within the request's deadline.
A request the provider rejects as malformed is final: no other deployment would take it.

A stream commits to the deployment that produced its first event; a failure after that
reaches the caller (what was delivered cannot be taken back)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from renderhouse.models.deployments import Deployment
from renderhouse.models.registry import ModelRegistry
from renderhouse.providers.base import ChatRequest, Completion, StreamEvent
from renderhouse.providers.errors import (
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
    ProviderUnavailable,
)
from renderhouse.worker.breaker import HALF_OPEN

BACKOFF = 0.05

T = TypeVar("T")
Call = Callable[[Deployment, ChatRequest, float], Awaitable[T]]
"""One attempt on one deployment: (deployment, its request, timeout) → the answer, or raise."""


@dataclass
class Attempt:
    deployment: str
    error: str | None
    seconds: float


@dataclass
class Routed:
    completion: Completion
    deployment: Deployment
    attempts: list[Attempt] = field(default_factory=list)


def _release(deployment: Deployment) -> None:
    """A call that said nothing about the deployment's health: free a half-open probe."""
    if deployment.breaker.state == HALF_OPEN:
        deployment.breaker.probing = False


def _request_for(deployment: Deployment, request: ChatRequest) -> ChatRequest:
    limit = deployment.settings.max_output_tokens
    tokens = limit if request.max_tokens is None else min(request.max_tokens, limit)
    return replace(request, model=deployment.settings.upstream, max_tokens=tokens)


class Router:
    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry

    def _plan(self, model: str) -> list[tuple[Deployment, int]]:
        tries = []
        for d in self.registry.chain(model):
            tries.append((d, 1 + self.registry.models[d.model].settings.retries))
        return tries

    def _give_up(self, model: str, last: ProviderError | None, skipped: int) -> ProviderError:
        if last is not None:
            return last
        chain = self.registry.chain(model)
        waits = [
            max(0.0, (d.breaker.opened_at or 0) + d.breaker.cooldown - self.registry.clock.now())
            for d in chain
        ]
        return ProviderUnavailable(
            f"no deployment of {model!r} is available now ({skipped} with an open breaker)",
            code="model_unavailable",
            details={"model": model},
            retry_after=min(waits) if waits else None,
        )

    async def complete(self, model: str, request: ChatRequest, *, deadline: float) -> Routed:
        """``deadline`` is on ``time.monotonic()``."""
        done, deployment, spent, attempts = await self._first_success(
            model, request, deadline, _complete
        )
        deployment.health.record(spent, True)
        deployment.breaker.on_success()
        return Routed(done, deployment, attempts)

    async def stream(self, model: str, request: ChatRequest, *, deadline: float) -> RoutedStream:
        """A stream whose first event has arrived (so every failure before it could still
        go to another deployment). Its deployment's health and breaker learn how it went
        when the stream ends (``RoutedStream``)."""
        (first, events), deployment, ttft, attempts = await self._first_success(
            model, request, deadline, _first_event
        )
        return RoutedStream(deployment, first, events, ttft, attempts)

    async def _first_success(
        self, model: str, request: ChatRequest, deadline: float, call: Call[T]
    ) -> tuple[T, Deployment, float, list[Attempt]]:
        """The attempt loop both ways of calling share: ``call`` on each deployment in
        turn until one answers: (its answer, the deployment, seconds it took, attempts)."""
        attempts: list[Attempt] = []
        last: ProviderError | None = None
        skipped = 0
        for deployment, tries in self._plan(model):
            for n in range(tries):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise last or ProviderTimeout(f"{model!r} found no answer before the deadline")
                if deployment.breaker.allow() == 0:
                    skipped += 1
                    break
                deployment.breaker.on_claimed()
                t0 = time.monotonic()
                timeout = min(remaining, deployment.settings.timeout_seconds)
                try:
                    answer = await call(deployment, _request_for(deployment, request), timeout)
                except ProviderError as exc:
                    spent = time.monotonic() - t0
                    attempts.append(Attempt(deployment.id, exc.code, spent))
                    if not exc.counts:
                        _release(deployment)
                        raise
                    deployment.health.record(spent, False)
                    deployment.breaker.on_failure()
                    last = exc
                    if isinstance(exc, ProviderRateLimited):
                        break  # this deployment is saturated: the next one, not a retry
                    if n + 1 < tries:
                        await asyncio.sleep(min(BACKOFF * 2**n, max(0.0, remaining - spent)))
                    continue
                except BaseException:
                    _release(deployment)
                    raise
                spent = time.monotonic() - t0
                attempts.append(Attempt(deployment.id, None, spent))
                return answer, deployment, spent, attempts
        raise self._give_up(model, last, skipped)


async def _complete(deployment: Deployment, request: ChatRequest, timeout: float) -> Completion:
    return await deployment.provider.complete(request, timeout=timeout)


async def _first_event(
    deployment: Deployment, request: ChatRequest, timeout: float
) -> tuple[StreamEvent, AsyncIterator[StreamEvent]]:
    """A stream's first event and the rest; a stream that fails or ends before its first
    event is closed and counts as a failed attempt."""
    events = deployment.provider.stream(request, timeout=timeout).__aiter__()
    try:
        return await events.__anext__(), events
    except StopAsyncIteration:
        await _close(events)
        raise ProviderUnavailable("the provider sent an empty stream") from None
    except BaseException:
        await _close(events)
        raise


async def _close(events: AsyncIterator[StreamEvent]) -> None:
    aclose = getattr(events, "aclose", None)
    if aclose is not None:
        await aclose()


class RoutedStream:
    """The events of a stream bound to one deployment; its health and breaker learn how
    it ended when iteration stops."""

    def __init__(
        self,
        deployment: Deployment,
        first: StreamEvent,
        rest: AsyncIterator[StreamEvent],
        ttft: float,
        attempts: list[Attempt],
    ) -> None:
        self.deployment, self.first, self.rest = deployment, first, rest
        self.ttft, self.attempts = ttft, attempts

    async def events(self) -> AsyncIterator[StreamEvent]:
        d = self.deployment
        outcome: bool | None = None
        try:
            yield self.first
            async for event in self.rest:
                yield event
            outcome = True
        except ProviderError as exc:
            outcome = False if exc.counts else None
            raise
        finally:
            await _close(self.rest)
            if outcome is False:
                d.health.record(self.ttft, False)
                d.breaker.on_failure()
            elif outcome is True:
                d.health.record(self.ttft, True)
                d.breaker.on_success()
            else:  # the caller stopped reading: nothing learnt about the provider
                _release(d)
