"""``create_app(settings)``: the ASGI application, built from settings (or a ready
``Runtime``) with no import-time state, so tests build as many as they like."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.telemetry import TelemetryConfig

from renderhouse import dashboard, ledger, metrics
from renderhouse.api import (
    artifacts,
    avatars,
    budgets,
    calendars,
    canons,
    credits,
    error_capture,
    errors,
    events,
    health,
    jobs,
    keys,
    kinds,
    payments,
    poses,
    system,
    system_stream,
    uploads,
)
from renderhouse.api import models as llm_models
from renderhouse.api.fastpath.async_enqueue import AsyncEnqueuer
from renderhouse.api.fastpath.async_reads import AsyncJobReader
from renderhouse.api.fastpath.group_commit import GroupCommit
from renderhouse.api.fastpath.key_cache import KeyCache
from renderhouse.api.fastpath.status_lane import StatusLane
from renderhouse.api.fastpath.submit_lane import SubmitLane
from renderhouse.api.follow import Follower
from renderhouse.api.middleware import RequestContext, install_log_request_ids
from renderhouse.api.ratelimit import RateLimiter
from renderhouse.api.state import ApiState, EnqueueHook, HealthState, never
from renderhouse.ops import secret_key
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings

EXPOSED_HEADERS = [
    "X-Request-ID",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "Retry-After",
]


_PROXY_PROVIDERS = {"ProxyTracerProvider", "_ProxyMeterProvider", "ProxyLoggerProvider"}


def _telemetry() -> TelemetryConfig | None:
    """FastAPI's own OpenTelemetry layer, off when nothing could receive it: with no
    provider set up and no ``OTEL_*`` or ``FASTAPI_OTEL_*`` variable, it only asked, on
    every request, whether a provider had appeared since (reading ``os.environ``; ~3% of
    the event loop's time on the chat route, docs/benchmarks.md, LLM gateway). ``None``
    keeps FastAPI's default, which an SDK set up before the app is built (as
    ``opentelemetry-instrument`` does) or its environment variables ask for."""
    if any(name.startswith(("OTEL_", "FASTAPI_OTEL_")) for name in os.environ):
        return None
    from opentelemetry import _logs, metrics, trace

    providers = (
        trace.get_tracer_provider(),
        metrics.get_meter_provider(),
        _logs.get_logger_provider(),
    )
    if any(type(p).__name__ not in _PROXY_PROVIDERS for p in providers):
        return None
    return {"tracing": False, "metrics": False, "logs": False}


def create_app(
    settings: Settings, runtime: Runtime | None = None, *, expect_workers: bool = False
) -> FastAPI:
    """Refuses to start on an old schema (``SchemaOutdated``); run ``renderhouse db
    upgrade`` first. A runtime passed in is shared (``serve`` runs a worker on it too)
    and not closed here. ``expect_workers``: readiness also requires a live worker."""
    error_capture.install(settings)
    owned = runtime is None
    rt = runtime or Runtime(settings)
    settings = secret_key.resolve(settings)  # never the public default (ops/secret_key.py)
    rt.prepare_store()
    state = ApiState(
        runtime=rt,
        limiter=RateLimiter(settings),
        follower=Follower(rt.store, settings.events_poll_seconds, settings.redis_url),
        settings=settings,
        group_commit=GroupCommit(rt.store),
        keys=KeyCache(rt.store, settings.auth_cache_seconds),
        health=HealthState(expect_workers=expect_workers),
    )
    if rt.store.dialect.name == "postgresql":
        state.async_enqueue = AsyncEnqueuer(rt.queue)
        state.job_reader = AsyncJobReader(rt.store)
    # A paid-API kind is refused while its budget is used up (402 budget_exhausted).
    state.before_enqueue.append(budgets.refuse_spent_budgets(rt))
    # Credits are reserved inside the enqueue transaction (settled by the ledger's hook);
    # pricing itself reads nothing.
    state.before_enqueue.append(EnqueueHook(ledger.before_enqueue, reads_database=never))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # anyio's default of 40 threads halved a busy server's throughput (GIL contention
        # with the event loop; docs/benchmarks.md, HTTP API).
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
        # Everything built so far (modules, the app, SQLAlchemy and pydantic internals) lives
        # as long as the process: move it out of the collector's sight. A full collection
        # then walks only what requests create, instead of stalling the event loop for
        # 140-170 ms (docs/benchmarks.md, HTTP API).
        gc.collect()
        gc.freeze()
        async with llm_models.probing(state):
            yield
        await state.close()
        if owned:
            rt.close()

    app = FastAPI(
        title="Renderhouse",
        version="1",
        description="Self-hosted job platform: submit jobs, follow progress, fetch artifacts.",
        lifespan=lifespan,
        telemetry=_telemetry(),
    )
    app.state.rh = state
    errors.install(app)
    llm_models.install(app, state)
    install_log_request_ids()
    app.include_router(jobs.router)
    for module in (events, uploads, artifacts, keys, credits, budgets, payments, system, health):
        app.include_router(module.router)
    app.include_router(system_stream.router)
    app.include_router(kinds.router)
    avatars.install(app, state)  # /v1/avatars, projects, presets; avatar: refs in pose jobs
    app.include_router(poses.router)
    app.include_router(calendars.router)  # /v1/calendars: connections, OAuth, sync jobs
    canons.install(app, state)  # /v1/canons; canon: refs in render and render_check jobs
    dashboard.mount(app)
    # Innermost: POST /v1/jobs's and GET /v1/jobs/{id}'s common cases answered without
    # FastAPI's machinery, still inside CORS, metrics and request ids (api/fastpath/submit_lane.py,
    # api/fastpath/status_lane.py).
    app.add_middleware(SubmitLane)
    app.add_middleware(StatusLane)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Last-Event-ID"],
            expose_headers=EXPOSED_HEADERS,
            allow_credentials="*" not in settings.cors_origins,
        )
    app.add_middleware(metrics.MetricsMiddleware)
    app.add_middleware(RequestContext)
    return app


def from_environment() -> FastAPI:
    """Factory for ASGI servers run directly, e.g. several processes:
    ``uvicorn --factory renderhouse.api.app:from_environment --workers 4``."""
    from renderhouse.settings import load_settings

    return create_app(load_settings())
