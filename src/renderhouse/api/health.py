"""``/health/live`` (the process answers) and ``/health/ready`` (it can do its work).

Readiness runs every function in ``CHECKS``; each gets the app's ``ApiState`` and raises
(or returns a detail string) — append more with ``CHECKS.append(fn)`` or per app with
``app.state.rh.health.checks``. Checks run in a thread: blocking calls are fine."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from renderhouse.api.state import ApiState, ReadyCheck, api_state

router = APIRouter(tags=["health"])


def check_store(state: ApiState) -> str | None:
    state.runtime.store.ping()
    return None


def check_storage(state: ApiState) -> str | None:
    state.runtime.storage.check_writable()
    return None


def check_rate_limits(state: ApiState) -> str | None:
    limiter = state.limiter
    limiter.ping()
    if not limiter.healthy:
        return f"recovering: {limiter.last_error}"
    return None


CHECKS: list[tuple[str, ReadyCheck]] = [
    ("store", check_store),
    ("storage", check_storage),
    ("rate_limits", check_rate_limits),
]


def run_checks(state: ApiState) -> tuple[bool, dict[str, Any]]:
    """Each check's result is cached for a second and refreshed in the background
    (``ops/health.py``), so this answers in well under 5 ms however slow a dependency is.
    ``health.expect_workers`` (``serve`` sets it) adds the live-worker check."""
    readiness = state.health.readiness
    if readiness is None:
        from functools import partial

        from renderhouse.ops.health import Check, Readiness, database, workers

        checks: list[tuple[str, Check]] = [
            (name, partial(fn, state)) for name, fn in [*CHECKS, *state.health.checks]
        ]
        checks.append(("schema", database(state.runtime)))
        if state.health.expect_workers:
            checks.append(("workers", workers(state.runtime, state.runtime.registry.kinds())))
        readiness = state.health.readiness = Readiness(checks)
    ok, results = readiness.results()
    return ok, results


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", responses={503: {"description": "a check failed"}})
async def ready(state: Annotated[ApiState, Depends(api_state)]) -> JSONResponse:
    ok, results = await run_in_threadpool(run_checks, state)
    body = {"status": "ok" if ok else "unavailable", "checks": results}
    return JSONResponse(body, status_code=200 if ok else 503)
