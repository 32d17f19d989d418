"""``GET /v1/system/stream``: the dashboard's overview, live, as Server-Sent Events.

Each ``overview`` event is one JSON snapshot: the caller, its running and recent jobs with
progress, its credits; for an admin key also every owner's jobs and the cluster (machine
resources, queue per kind, workers, breakers, throughput, and the alerts firing as of their
last evaluation, ``ops.firing``). A user key sees only what is its own.

It is sent on connect, then when any job changes (the ``Follower`` wakes on PostgreSQL
NOTIFY or its poll of the events table), at most ``stream_max_per_second`` times a second:
a burst of progress events folds into one snapshot, built once per process for all admin
streams. Time alone moves CPU and queue ages, so a snapshot also goes out every
``refresh_seconds``, when the key is checked again (a revoked key ends the stream); a
``: heartbeat`` comment fills ``heartbeat_seconds`` of silence so proxies keep it open.

Authentication is the bearer header every route takes. ``EventSource`` cannot send one,
so the dashboard reads this with ``fetch`` and a stream reader (and reconnects with
backoff); a key in the URL would end up in access logs and browser history, and a cookie
would bring CSRF back."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from renderhouse import ledger
from renderhouse.accounts import User
from renderhouse.api.auth import credential, current_user, resolve_user
from renderhouse.api.follow import ANY
from renderhouse.api.schemas import ERRORS
from renderhouse.api.state import ApiState
from renderhouse.errors import RenderhouseError
from renderhouse.ops import firing, resources
from renderhouse.queue.jobs import RUNNING, Job
from renderhouse.timestamps import rfc3339

router = APIRouter(tags=["system"], responses=ERRORS)

RUNNING_LIMIT = 20
RECENT_LIMIT = 10


@dataclass(frozen=True)
class Timing:
    max_per_second: float = 2.0
    heartbeat_seconds: float = 15.0
    refresh_seconds: float = 30.0


class SharedSnapshot:
    """The cluster part, built once for all streams that ask after the same wake-up. A
    build is shared only if it started at or after the caller's wake-up, i.e. after the
    commit that woke it, so sharing never hides a change."""

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build
        self._future: asyncio.Future[dict[str, Any]] | None = None
        self._started = float("-inf")

    async def get(self, not_before: float) -> dict[str, Any]:
        if self._future is None or self._started < not_before:
            self._started = time.monotonic()
            self._future = asyncio.ensure_future(run_in_threadpool(self._build))
        return await asyncio.shield(self._future)


def _cluster(state: ApiState) -> dict[str, Any]:
    rt = state.runtime
    snap = resources.snapshot(rt)
    alerts = [a | {"started_at": rfc3339(a["started_at"])} for a in firing.firing(rt.store)]
    return snap | {"time": rfc3339(snap["time"]), "alerts": alerts}


def _job(job: Job, viewer: User) -> dict[str, Any]:
    return {
        "id": job.id,
        "kind": job.kind,
        "owner": job.owner,
        "mine": job.owner == viewer.id,
        "state": job.state,
        "progress": {
            "fraction": job.progress,
            "done": job.progress_done,
            "total": job.progress_total,
            "message": job.progress_message,
        },
        "error": job.error_code,
        "created_at": rfc3339(job.created_at),
        "finished_at": rfc3339(job.finished_at) if job.finished_at else None,
    }


def _personal(state: ApiState, user: User) -> dict[str, Any]:
    """What this caller may see of jobs and money: an admin every owner's jobs."""
    queue, owner = state.runtime.queue, None if is_admin(user) else user.id
    running = queue.list_jobs(owner=owner, state=RUNNING, limit=RUNNING_LIMIT)
    recent = queue.list_jobs(owner=owner, limit=RECENT_LIMIT)
    with state.runtime.store.read() as conn:
        credits = ledger.balance(conn, user.id).to_dict()
    return {
        "user": {"id": user.id, "name": user.name, "admin": is_admin(user)},
        "running": [_job(j, user) for j in running],
        "recent": [_job(j, user) for j in recent],
        "credits": credits,
    }


def is_admin(user: User) -> bool:
    return user.scope == "admin"


async def snapshot(state: ApiState, user: User, not_before: float) -> dict[str, Any]:
    shared = state.system_snapshot
    if shared is None:
        shared = state.system_snapshot = SharedSnapshot(lambda: _cluster(state))
    out = await run_in_threadpool(_personal, state, user)
    out["system"] = await shared.get(not_before) if is_admin(user) else None
    return out


def _refused(state: ApiState, token: str | None) -> dict[str, Any] | None:
    """The error body when ``token`` no longer authenticates, else None."""
    if token is None:
        return None
    try:
        resolve_user(state, token)
    except RenderhouseError as exc:
        if exc.http_status == 401:
            return {"error": exc.to_dict()}
    return None


def _event(snap: dict[str, Any]) -> str:
    return f"event: overview\ndata: {json.dumps(snap, separators=(',', ':'))}\n\n"


async def overview(
    state: ApiState, user: User, token: str | None, timing: Timing
) -> AsyncIterator[str]:
    """The stream's body: snapshots on change (coalesced), refreshes and heartbeats."""
    follower, clock = state.follower, time.monotonic
    wake = follower.subscribe(ANY)
    sent_at = last_io = float("-inf")
    last: dict[str, Any] | None = None
    pending = True
    try:
        yield "retry: 2000\n\n"
        while True:
            if pending:
                await asyncio.sleep(max(0.0, sent_at + 1 / timing.max_per_second - clock()))
                wake.clear()  # wake-ups from here on make another snapshot
                snap = await snapshot(state, user, clock())
                sent_at = clock()
                if snap != last:
                    last = snap
                    yield _event(snap | {"time": time.time()})
                    last_io = sent_at
                pending = False
            refresh_at = sent_at + timing.refresh_seconds
            beat_at = last_io + timing.heartbeat_seconds
            try:
                await asyncio.wait_for(wake.wait(), max(0.0, min(refresh_at, beat_at) - clock()))
                pending = True
            except TimeoutError:
                if clock() >= refresh_at:
                    refused = await run_in_threadpool(_refused, state, token)
                    if refused is not None:  # the key was revoked (or the token expired)
                        yield f"event: error\ndata: {json.dumps(refused)}\n\n"
                        return
                    pending = True
                elif clock() >= beat_at:
                    yield ": heartbeat\n\n"
                    last_io = clock()
    finally:
        follower.unsubscribe(ANY, wake)


@router.get(
    "/v1/system/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def system_stream(
    request: Request, user: Annotated[User, Depends(current_user)]
) -> StreamingResponse:
    """Server-Sent Events: an ``overview`` snapshot on connect and whenever jobs change
    (at most ``stream_max_per_second``); admins get the cluster too, users their own."""
    state: ApiState = request.app.state.rh
    timing = state.stream_timing or Timing(state.settings.stream_max_per_second)
    return StreamingResponse(
        overview(state, user, credential(request), timing),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
