"""``GET /v1/models`` and ``/v1/models/{name}``: every LLM model (with its deployments'
live health) and every generator. OpenAI's list shape (``{"object": "list", "data":
[{"id", "object": "model", ...}]}``) is answered when the caller asks for it with
``?format=openai`` or is an official OpenAI SDK (its ``User-Agent`` starts with
``OpenAI/``); our own shape otherwise. Also ``GET /v1/usage`` (the caller's own use and
spend) and ``GET /v1/admin/analytics`` (everyone's, per model and kind)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from renderhouse.accounts import User
from renderhouse.api.auth import admin_user, current_user
from renderhouse.api.chat import openai_error
from renderhouse.api.schemas import ERRORS
from renderhouse.api.state import ApiState, api_state
from renderhouse.errors import InvalidInput, NotFound, RenderhouseError
from renderhouse.models import usage
from renderhouse.models.gateway import Gateway
from renderhouse.models.health import rfc3339

router = APIRouter(tags=["models"], responses=ERRORS)
DEFAULT_PERIOD = 30 * 86_400


def wants_openai(request: Request) -> bool:
    if request.query_params.get("format") == "openai":
        return True
    return request.headers.get("user-agent", "").startswith("OpenAI/")


def _generators(state: ApiState) -> list[dict[str, Any]]:
    """Each public generator, up while a worker that runs its kind has a fresh heartbeat."""
    from renderhouse.worker.registration import live_workers

    rt = state.runtime
    s = rt.settings
    alive = live_workers(rt.store, time.time(), max(3 * s.heartbeat_seconds, s.lease_seconds))
    out = []
    for kind in rt.registry.kinds():
        cls = rt.registry.cls(kind)
        if cls.internal:
            continue
        serving = [w for w in alive if not w["kinds"] or kind in w["kinds"]]  # type: ignore[operator]
        out.append(
            {
                "name": kind,
                "type": "generator",
                "description": cls.description,
                "status": "up" if serving else "down",
                "workers": len(serving),
                "paid_providers": list(cls.paid_providers),
            }
        )
    return out


def _openai(entry: dict[str, Any]) -> dict[str, Any]:
    return {"id": entry["name"], "object": "model", "created": 0, "owned_by": "renderhouse"}


@router.get("/v1/models", response_model=None)
async def list_models(
    request: Request,
    _user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> JSONResponse:
    gateway = state.gateway
    llms = [gateway.registry.describe(name) for name in sorted(gateway.registry.models)]
    if wants_openai(request):
        return JSONResponse({"object": "list", "data": [_openai(e) for e in llms]})
    generators = await run_in_threadpool(_generators, state)
    return JSONResponse(
        {"data": llms + generators, "default_model": gateway.registry.default_model}
    )


@router.get("/v1/models/{name:path}", response_model=None)
async def get_model(
    name: str,
    request: Request,
    _user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> JSONResponse:
    gateway = state.gateway
    openai_shape = wants_openai(request)
    try:
        if name in gateway.registry.models:
            entry = gateway.registry.describe(name)
        else:
            found = [g for g in await run_in_threadpool(_generators, state) if g["name"] == name]
            if not found:
                raise NotFound(
                    f"no model or generator {name!r}; GET /v1/models lists them",
                    code="model_not_found",
                    details={"model": name},
                )
            entry = found[0]
    except RenderhouseError as exc:
        if openai_shape:
            body, status, headers = openai_error(exc)
            return JSONResponse(body, status, headers)
        raise
    return JSONResponse(_openai(entry) if openai_shape else entry)


def _period(since: str | None, until: str | None) -> tuple[float, float]:
    def parse(value: str, field: str) -> float:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise InvalidInput(
                f"{field} must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z",
                details={"field": field},
            ) from None
        if parsed.tzinfo is None:
            raise InvalidInput(f"{field} needs a time zone (e.g. Z)", details={"field": field})
        return parsed.timestamp()

    end = parse(until, "until") if until else time.time()
    start = parse(since, "since") if since else end - DEFAULT_PERIOD
    if start >= end:
        raise InvalidInput("since must be before until", details={"field": "since"})
    return start, end


Since = Annotated[str | None, Query(max_length=40, description="RFC 3339; default 30 days ago")]
Until = Annotated[str | None, Query(max_length=40, description="RFC 3339; default now")]


@router.get("/v1/usage")
async def my_usage(
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    start, end = _period(since, until)

    def read() -> list[dict[str, Any]]:
        with state.runtime.store.read() as conn:
            return usage.summary(conn, since=start, until=end, owner=user.id)

    models = await run_in_threadpool(read)
    total = {
        k: sum(m[k] for m in models)
        for k in ("requests", "errors", "prompt_tokens", "completion_tokens", "cost")
    }
    return {"since": rfc3339(start), "until": rfc3339(end), "models": models, "total": total}


@router.get("/v1/admin/analytics")
async def analytics(
    _admin: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    start, end = _period(since, until)

    def read() -> dict[str, Any]:
        with state.runtime.store.read() as conn:
            return usage.analytics(conn, since=start, until=end)

    return await run_in_threadpool(read)


def install(app: FastAPI, state: ApiState) -> None:
    """The model registry on the app's state, and its routes (chat, models, usage)."""
    from renderhouse.api import chat, chat_ws
    from renderhouse.api.fastpath.group_commit import GroupCommit
    from renderhouse.api.state import ChatServices
    from renderhouse.models.registry import ModelRegistry
    from renderhouse.models.token_limits import TokenLimits

    # Holds and settlements of concurrent requests share transactions: one COMMIT per batch
    # instead of two per request, not waiting for the disk (docs/benchmarks.md, LLM gateway):
    # a power loss can only roll back the last of them, which leaves a request uncharged or
    # its hold to the expiry duty (settled at the estimate, as after a crash mid-call).
    writes = GroupCommit(state.runtime.store, name="chat", flushed=False)
    gateway = Gateway(
        ModelRegistry(state.settings.llm),
        state.runtime.store,
        commit=writes.submit,
        limits=TokenLimits(state.settings.llm, state.limiter.strategy),
        limits_in_process=state.limiter.in_process,
    )
    state.chat = ChatServices(gateway, writes)
    app.include_router(chat.router)
    # Added before the app's other layers, so it ends up innermost: inside CORS, metrics and
    # request ids, like the jobs lanes (add_middleware wraps what was added earlier).
    app.add_middleware(chat.ChatLane)
    app.include_router(chat_ws.router)
    app.include_router(router)


@asynccontextmanager
async def probing(state: ApiState) -> AsyncIterator[None]:
    """While the app runs: each deployment's free probe every ``probe_seconds``, and the
    opt-in active probe of those that set ``active_probe_seconds`` (one per cluster)."""
    from renderhouse.models.probe_active import ActiveProbes

    gateway = state.gateway
    active = ActiveProbes(gateway.registry, state.runtime.store)
    tasks = [
        asyncio.create_task(gateway.registry.probe_forever()),
        asyncio.create_task(active.run_forever()),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await gateway.registry.aclose()
        if state.chat is not None:
            await asyncio.to_thread(state.chat.writes.close)
