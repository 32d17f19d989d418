"""System routes: ``GET /metrics`` (Prometheus text), ``GET /v1/system/metrics`` (a JSON
snapshot for people and the dashboard), ``GET /v1/system/alerts`` and the admin-only
``POST /v1/system/optimize``. The work is in ``renderhouse.ops``; this is the HTTP edge.

``create_app`` includes ``router`` and wraps the app in ``metrics.MetricsMiddleware``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel

from renderhouse import metrics
from renderhouse.accounts import User
from renderhouse.api.auth import admin_user, current_user
from renderhouse.api.schemas import ERRORS
from renderhouse.api.state import ApiState, api_state
from renderhouse.ops import alert_watch, alerts, firing, optimize, resources
from renderhouse.ops.firing import Notifier
from renderhouse.timestamps import rfc3339

router = APIRouter(tags=["system"], responses=ERRORS)


class OptimizeIn(BaseModel):
    type: Literal["memory", "disk", "full"] = "full"


@router.get("/metrics", include_in_schema=False)
async def prometheus(state: Annotated[ApiState, Depends(api_state)]) -> Response:
    body, content_type = await run_in_threadpool(
        metrics.render, state.runtime.queue, state.settings.data_dir
    )
    return Response(body, media_type=content_type)


@router.get("/v1/system/metrics")
async def system_metrics(
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> dict[str, Any]:
    """For an admin key: CPU, memory, disk, queue per kind, workers, breakers and
    throughput (``scope: cluster``). For any other key: its own jobs' queue and throughput
    (``scope: own``), as the dashboard stream scopes it."""
    if user.scope != "admin":
        snap = await run_in_threadpool(resources.own_snapshot, state.runtime, user.id)
    else:
        snap = await run_in_threadpool(resources.snapshot, state.runtime)
    return snap | {"time": rfc3339(snap["time"])}


def _notifier(state: ApiState) -> Notifier:
    notifier = state.alerts.notifier
    if notifier is None:
        notifier = state.alerts.notifier = alert_watch.notifier(state.runtime)
        notifier.transport = state.alerts.transport
    return notifier


def _alerts(state: ApiState) -> dict[str, Any]:
    """The rules evaluated now, compared with what was last announced; changes nothing."""
    rt = state.runtime
    now_firing = alerts.evaluate(rt, resources.snapshot(rt))
    announced = {a["fingerprint"] for a in firing.firing(rt.store) if "fingerprint" in a}
    fingerprints = {a.fingerprint for a in now_firing}
    return {
        "firing": [a.__dict__ | {"fingerprint": a.fingerprint} for a in now_firing],
        "started": sorted(fingerprints - announced),
        "resolved": sorted(announced - fingerprints),
    }


def _announce(state: ApiState) -> dict[str, Any]:
    rt = state.runtime
    now_firing = alerts.evaluate(rt, resources.snapshot(rt))
    changes = _notifier(state).update(now_firing, alerts.this_host(), rt.queue.clock.now())
    return {
        "firing": [a.__dict__ | {"fingerprint": a.fingerprint} for a in now_firing],
        "started": [a.fingerprint for a in changes["started"]],
        "resolved": [a.fingerprint for a in changes["resolved"]],
    }


@router.get("/v1/system/alerts")
async def system_alerts(
    _admin: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> dict[str, Any]:
    """Admin only. The rules evaluated now; ``started`` and ``resolved`` are what the next
    evaluation will announce (a GET announces nothing: workers and ``serve`` evaluate on
    schedule, ``POST /v1/system/alerts/evaluate`` does it now)."""
    return await run_in_threadpool(_alerts, state)


@router.post("/v1/system/alerts/evaluate")
async def evaluate_alerts(
    _admin: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> dict[str, Any]:
    """Admin only. Evaluate the rules now and announce what started or resolved to
    ``alert_webhook_url`` (once across processes, ``ops.firing``)."""
    return await run_in_threadpool(_announce, state)


@router.post("/v1/system/optimize")
async def system_optimize(
    body: OptimizeIn,
    _admin: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> dict[str, Any]:
    """Free memory (``memory``), disk (``disk``: old temporary files, finished jobs past
    retention with their artifacts, VACUUM/ANALYZE) or both (``full``); says what it freed."""
    return await run_in_threadpool(optimize.optimize, state.runtime, body.type)
