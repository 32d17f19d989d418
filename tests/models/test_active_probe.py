"""Health costs zero paid tokens by default; the opt-in active probe sends at most one
``max_tokens=1`` completion per deployment per interval across every process sharing the
database (SQLite and PostgreSQL), records its cost on nobody's credits, and its answer
shows in every process's health."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, update

from renderhouse.api import create_app
from renderhouse.models.config import LLMSettings
from renderhouse.models.probe_active import OWNER, ActiveProbes
from renderhouse.models.probe_leases import model_probes
from renderhouse.models.registry import ModelRegistry
from renderhouse.models.usage import model_usage
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.database import Store
from renderhouse.store.schema_ledger import ledger_entries
from tests.models.api_fixtures import llm_settings
from tests.models.openai_server import OpenAIServer
from tests.threaded_server import serving

pytestmark = pytest.mark.anyio
INTERVAL = 60.0


@pytest.fixture
def upstream() -> Iterator[tuple[OpenAIServer, str]]:
    fake = OpenAIServer()
    with serving(fake.app) as url:
        yield fake, f"{url}/v1"


def settings(base: str, probe_seconds: float | None) -> LLMSettings:
    deployment: dict[str, Any] = {
        "provider": "openai",
        "base_url": base,
        "upstream": "gpt-fake",
        "price_in": 1000,
        "price_out": 2000,
        "timeout_seconds": 2,
    }
    return LLMSettings.model_validate(
        {
            "offline_model": False,
            "models": {
                "m": {"deployments": [deployment], "active_probe_seconds": probe_seconds},
                "free-list-only": {"deployments": [{**deployment, "price_in": 0}]},
            },
        }
    )


def completions(fake: OpenAIServer) -> int:
    return len(fake.requests)


def back_date(store: Store, seconds: float) -> None:
    """As if the last probe had been ``seconds`` earlier (the lease's interval elapsing)."""
    with store.begin() as conn:
        conn.execute(
            update(model_probes).values(last_probe_at=model_probes.c.last_probe_at - seconds)
        )


async def test_default_health_checks_send_no_completion(
    upstream: tuple[OpenAIServer, str], store: Store
) -> None:
    fake, base = upstream
    registry = ModelRegistry(settings(base, None))
    probes = ActiveProbes(registry, store)
    try:
        for _ in range(3):
            await registry.probe()
            assert await probes.run_once() == 0
    finally:
        await registry.aclose()
    assert fake.model_list_calls == 3 * 2  # the free probe ran, for both deployments
    assert completions(fake) == 0
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(model_probes)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(model_usage)).scalar_one() == 0
    assert registry.describe("m")["deployments"][0]["health"]["active_probe"] is None


async def test_two_registries_on_one_database_probe_once_per_interval(
    upstream: tuple[OpenAIServer, str], db_url: str
) -> None:
    fake, base = upstream
    stores = [Store(db_url), Store(db_url)]  # two processes: two engines, two pools
    registries = [ModelRegistry(settings(base, INTERVAL)) for _ in stores]
    a, b = (
        ActiveProbes(r, s, holder=name)
        for r, s, name in zip(registries, stores, ("host-a:1", "host-b:2"), strict=True)
    )
    try:
        sent = await asyncio.gather(a.run_once(), b.run_once())
        assert sorted(sent) == [0, 1]
        assert completions(fake) == 1
        assert fake.requests[0]["max_tokens"] == 1
        for _ in range(3):  # within the interval: nobody probes again
            assert await a.run_once() == 0
            assert await b.run_once() == 0
        assert completions(fake) == 1
        # both processes show the one answer, whichever sent it
        for r in registries:
            active = r.describe("m")["deployments"][0]["health"]["active_probe"]
            assert active["ok"] is True and active["latency_ms"] is not None
        # the free-list-only deployment never got a completion
        assert all(req["model"] == "gpt-fake" for req in fake.requests)

        back_date(stores[0], INTERVAL + 1)
        sent = await asyncio.gather(b.run_once(), a.run_once())
        assert sorted(sent) == [0, 1]
        assert completions(fake) == 2

        # a failing probe marks the deployment down in both processes
        back_date(stores[0], INTERVAL + 1)
        fake.plan("500")
        assert sum(await asyncio.gather(a.run_once(), b.run_once())) == 1
        # the other process reads the answer from the database on its next round
        assert await a.run_once() == 0
        assert await b.run_once() == 0
        for r in registries:
            health = r.describe("m")["deployments"][0]["health"]
            assert health["status"] == "down"
            assert health["active_probe"]["ok"] is False
            assert health["active_probe"]["error"]
        assert completions(fake) == 3
    finally:
        for r in registries:
            await r.aclose()

    with stores[0].read() as conn:
        rows = conn.execute(select(model_usage).order_by(model_usage.c.created_at)).all()
        charged = conn.execute(
            select(func.count())
            .select_from(ledger_entries)
            .where(ledger_entries.c.job_id.like("probe-%"))
        ).scalar_one()
    for s in stores:
        s.dispose()
    assert [(r.source, r.owner, r.model, r.ok) for r in rows] == [
        ("probe", OWNER, "m", True),
        ("probe", OWNER, "m", True),
        ("probe", OWNER, "m", False),
    ]
    # the fake reports its usage; the cost at the deployment's prices is on record
    assert rows[0].completion_tokens >= 1
    assert rows[0].cost == rows[0].prompt_tokens * 1 + rows[0].completion_tokens * 2
    assert rows[2].cost == 0 and rows[2].error_code == "provider_unavailable"
    assert all(r.reserved == 0 for r in rows)
    assert charged == 0  # nobody's credits


async def test_a_model_level_interval_applies_to_its_deployments(
    upstream: tuple[OpenAIServer, str],
) -> None:
    _, base = upstream
    registry = ModelRegistry(settings(base, 120))
    try:
        got = {d.id: d.active_probe_seconds for d in registry.deployments}
    finally:
        await registry.aclose()
    assert got == {"m#0": 120, "free-list-only#0": None}


def test_intervals_below_ten_seconds_are_refused() -> None:
    with pytest.raises(ValueError, match="active_probe_seconds"):
        settings("http://127.0.0.1:1/v1", 1)


async def _until(condition: Any) -> None:
    with anyio.fail_after(10):
        while not condition():
            await asyncio.sleep(0.01)


async def test_the_served_app_probes_for_free_by_default(
    app: FastAPI, provider: tuple[OpenAIServer, str]
) -> None:
    fake, _ = provider
    async with app.router.lifespan_context(app):
        await _until(lambda: fake.model_list_calls >= 1)
    assert completions(fake) == 0


async def test_the_served_app_runs_an_opted_in_probe(
    settings: Settings, runtime: Runtime, provider: tuple[OpenAIServer, str]
) -> None:
    fake, base = provider
    llm = llm_settings(base)
    llm["models"]["gpt-fake"]["deployments"][0]["active_probe_seconds"] = INTERVAL
    application = create_app(settings.model_copy(update={"llm": LLMSettings(**llm)}), runtime)

    def recorded() -> int:
        with runtime.store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(model_usage)).scalar_one())

    async with application.router.lifespan_context(application):
        await _until(lambda: recorded() >= 1)
        health = application.state.rh.gateway.registry.describe("gpt-fake")["deployments"][0]
    assert completions(fake) == 1 and fake.requests[0]["max_tokens"] == 1
    assert health["active_probe_seconds"] == INTERVAL
    assert health["health"]["active_probe"]["ok"] is True
