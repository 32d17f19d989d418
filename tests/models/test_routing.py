"""Fallbacks, retries, the breaker per deployment and its half-open recovery, on
in-process fake providers and a clock the test moves."""

from __future__ import annotations

import time

import pytest

from renderhouse.models.config import LLMSettings
from renderhouse.models.registry import ModelRegistry, UnknownModel
from renderhouse.models.routing import Router
from renderhouse.providers import ChatRequest, Delta, ProviderRateLimited, ProviderRejected, Usage
from renderhouse.providers.fake import FakeProvider
from renderhouse.queue.clock import FakeClock

pytestmark = pytest.mark.anyio
HI = [{"role": "user", "content": "hi"}]


def _registry(clock: FakeClock, **fakes: FakeProvider) -> ModelRegistry:
    settings = LLMSettings.model_validate(
        {
            "offline_model": False,
            "breaker_failures": 2,
            "breaker_cooldown_seconds": 30,
            "models": {
                "main": {
                    "deployments": [
                        {"provider": "fake", "upstream": "a", "price_out": 10},
                        {"provider": "fake", "upstream": "b", "price_out": 10},
                    ],
                    "fallbacks": ["spare"],
                    "retries": 1,
                },
                "spare": {"deployments": [{"provider": "fake", "upstream": "c"}], "retries": 0},
            },
        }
    )
    providers = {"main#0": fakes["a"], "main#1": fakes["b"], "spare#0": fakes["c"]}
    return ModelRegistry(settings, clock=clock, providers=providers)


def _deadline() -> float:
    return time.monotonic() + 10


async def test_a_failing_deployment_is_skipped_within_one_request() -> None:
    a, b, c = FakeProvider(script=["500", "500"]), FakeProvider(), FakeProvider()
    router = Router(_registry(FakeClock(), a=a, b=b, c=c))
    routed = await router.complete("main", ChatRequest("main", HI), deadline=_deadline())
    assert routed.deployment.id == "main#1"
    assert [x.error for x in routed.attempts] == ["provider_unavailable"] * 2 + [None]
    assert routed.completion.message["content"] == "echo: hi"


async def test_429_moves_on_at_once_and_everything_failing_reaches_the_fallback() -> None:
    a, b, c = FakeProvider(script=["429"]), FakeProvider(script=["500", "500"]), FakeProvider()
    router = Router(_registry(FakeClock(), a=a, b=b, c=c))
    routed = await router.complete("main", ChatRequest("main", HI), deadline=_deadline())
    assert routed.deployment.id == "spare#0"
    assert a.calls == 1 and b.calls == 2 and c.calls == 1


async def test_the_last_error_is_what_the_caller_gets() -> None:
    a, b, c = (
        FakeProvider(script=["429"]),
        FakeProvider(script=["429"]),
        FakeProvider(script=["429"]),
    )
    router = Router(_registry(FakeClock(), a=a, b=b, c=c))
    with pytest.raises(ProviderRateLimited) as caught:
        await router.complete("main", ChatRequest("main", HI), deadline=_deadline())
    assert caught.value.retry_after == 1.0


async def test_input_errors_are_final_and_not_counted() -> None:
    a, b, c = FakeProvider(script=["reject"]), FakeProvider(), FakeProvider()
    registry = _registry(FakeClock(), a=a, b=b, c=c)
    with pytest.raises(ProviderRejected):
        await Router(registry).complete("main", ChatRequest("main", HI), deadline=_deadline())
    assert b.calls == 0
    d = registry.get("main").deployments[0]
    assert d.breaker.failures == 0 and d.health.samples == type(d.health.samples)()


async def test_breaker_opens_then_recovers_through_one_half_open_probe() -> None:
    clock = FakeClock()
    a, b, c = FakeProvider(script=["500", "500"]), FakeProvider(), FakeProvider()
    registry = _registry(clock, a=a, b=b, c=c)
    router = Router(registry)
    first = registry.get("main").deployments[0]
    await router.complete("main", ChatRequest("main", HI), deadline=_deadline())
    assert first.breaker.state == "open"
    assert registry.describe("main")["deployments"][0]["health"]["status"] == "down"
    await router.complete("main", ChatRequest("main", HI), deadline=_deadline())
    assert a.calls == 2  # skipped while open
    clock.advance(31)
    assert registry.describe("main")["deployments"][0]["health"]["breaker"] == "half_open"
    routed = await router.complete("main", ChatRequest("main", HI), deadline=_deadline())
    assert routed.deployment is first and first.breaker.state == "closed"
    health = registry.describe("main")["deployments"][0]["health"]
    assert health["status"] == "degraded"  # 2 errors of 3 calls in the window
    assert health["error_rate"] == pytest.approx(2 / 3, abs=1e-3)
    clock.advance(301)
    assert registry.describe("main")["deployments"][0]["health"]["status"] == "up"


async def test_stream_falls_back_before_the_first_event_only() -> None:
    a, b, c = FakeProvider(script=["500", "500"]), FakeProvider(script=["truncate"]), FakeProvider()
    registry = _registry(FakeClock(), a=a, b=b, c=c)
    routed = await Router(registry).stream("main", ChatRequest("main", HI), deadline=_deadline())
    assert routed.deployment.id == "main#1"
    got = []
    with pytest.raises(Exception, match="early"):
        async for event in routed.events():
            got.append(event)
    assert isinstance(got[0], Delta) and not any(isinstance(e, Usage) for e in got)
    assert c.calls == 0
    assert registry.get("main").deployments[1].breaker.failures == 1


async def test_unknown_model_and_fallback_validation() -> None:
    registry = _registry(FakeClock(), a=FakeProvider(), b=FakeProvider(), c=FakeProvider())
    with pytest.raises(UnknownModel):
        registry.chain("nope")
    with pytest.raises(ValueError, match="unknown model"):
        LLMSettings.model_validate(
            {
                "offline_model": False,
                "models": {
                    "x": {
                        "deployments": [{"provider": "fake", "upstream": "x"}],
                        "fallbacks": ["y"],
                    }
                },
            }
        )


async def test_free_probe_reads_model_lists() -> None:
    a, b, c = FakeProvider(models=["a"]), FakeProvider(models=["other"]), FakeProvider(models=["c"])
    registry = _registry(FakeClock(), a=a, b=b, c=c)
    await registry.probe()
    deps = registry.describe("main")["deployments"]
    assert deps[0]["health"]["last_check_ok"] is True and deps[0]["health"]["status"] == "up"
    assert deps[1]["health"]["status"] == "down"
    assert "does not list" in deps[1]["health"]["last_check_error"]
    assert registry.describe("main")["status"] == "up"
    assert a.calls == b.calls == c.calls == 0  # no completion spent on health


def test_deployment_settings_are_checked_at_start() -> None:
    from renderhouse.models.config import DeploymentSettings

    local = DeploymentSettings(provider="llamacpp", upstream="m", base_url="file:///m.gguf")
    assert local.account == "llamacpp"
    for bad in (
        {"provider": "openai", "upstream": "m"},
        {"provider": "openai", "upstream": "m", "base_url": "file:///x"},
        {"provider": "llamacpp", "upstream": "m", "base_url": "http://x"},
        {"provider": "fake", "upstream": "m", "price_in": -1},
    ):
        with pytest.raises(ValueError):
            DeploymentSettings.model_validate(bad)
