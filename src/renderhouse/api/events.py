"""Live job progress: ``GET /v1/jobs/{id}/events`` (Server-Sent Events, resumable with
``Last-Event-ID``) and ``WS /v1/jobs/{id}/ws``. Event ids are ``job_events.id``: a stream
replays from the table past the id it was given, then follows, and closes after the job's
terminal state, so a reconnecting client neither loses nor repeats an event."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, WebSocket
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from starlette.websockets import WebSocketDisconnect

from renderhouse.accounts import User
from renderhouse.api.auth import authenticate, current_user
from renderhouse.api.errors import BadRequest
from renderhouse.api.schemas import ERRORS
from renderhouse.api.state import ApiState
from renderhouse.errors import RenderhouseError
from renderhouse.queue.jobs import TERMINAL
from renderhouse.timestamps import rfc3339

router = APIRouter(prefix="/v1/jobs", tags=["events"], responses=ERRORS)

BATCH = 500
KEEPALIVE_SECONDS = 15.0
RECHECK_SECONDS = 30.0
"""A safety net only: the Follower wakes a stream for every event (poll, LISTEN, Redis), so
an idle stream re-reads its job this rarely and costs no query in between."""


def _is_terminal(event: dict[str, Any]) -> bool:
    return event["type"] == "state" and event["data"].get("state") in TERMINAL


async def follow(state: ApiState, job_id: str, after_id: int) -> AsyncIterator[dict[str, Any]]:
    """Yield the job's events past ``after_id`` until its terminal state; ``{}`` when idle
    for KEEPALIVE_SECONDS (for keep-alives)."""
    queue, follower = state.runtime.queue, state.follower
    wake = follower.subscribe(job_id)
    job_checked = False
    try:
        while True:
            wake.clear()
            generation = follower.generation(job_id)
            batch = await follower.fetch(queue, job_id, after_id, generation, BATCH)
            for event in batch:
                after_id = event["id"]
                yield event
                if _is_terminal(event):
                    return
            if len(batch) == BATCH:
                continue
            if not batch and not job_checked:
                # Once: a job that ended before this stream began (its events may be pruned).
                # Any later end comes as an event.
                job_checked = True
                job = await run_in_threadpool(queue.get, job_id)
                if job.state in TERMINAL:
                    for event in await run_in_threadpool(queue.events, job_id, after_id, BATCH):
                        yield event
                    return
            quiet = 0.0
            while quiet < RECHECK_SECONDS:
                try:
                    await asyncio.wait_for(wake.wait(), KEEPALIVE_SECONDS)
                    break
                except TimeoutError:
                    quiet += KEEPALIVE_SECONDS
                    yield {}
    finally:
        follower.unsubscribe(job_id, wake)


def _sse(event: dict[str, Any]) -> str:
    if not event:
        return ": keep-alive\n\n"
    data = json.dumps({"ts": rfc3339(event["ts"]), **event["data"]}, separators=(",", ":"))
    return f"id: {event['id']}\nevent: {event['type']}\ndata: {data}\n\n"


def _after(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not value.isdigit() or len(value) > 19:
        raise BadRequest(
            "Last-Event-ID must be an event id (a non-negative integer)",
            code="invalid_last_event_id",
            details={"field": "Last-Event-ID"},
        )
    return int(value)


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}},
)
def job_events(
    job_id: str,
    request: Request,
    user: Annotated[User, Depends(current_user)],
    last_event_id: Annotated[str | None, Header(max_length=32)] = None,
    after: Annotated[str | None, Query(max_length=32, description="as Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-Sent Events: ``state``, ``progress``, ``artifact`` … until the job ends."""
    state: ApiState = request.app.state.rh
    state.runtime.queue.get(job_id, owner=user.id)
    start = _after(last_event_id if last_event_id is not None else after)

    async def body() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        async for event in follow(state, job_id, start):
            yield _sse(event)

    return StreamingResponse(
        body(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.websocket("/{job_id}/ws")
async def job_ws(websocket: WebSocket, job_id: str) -> None:
    """The same events as JSON messages; ``?after=<id>`` resumes. Closes 1000 at the end,
    4401 when unauthenticated, 4404 for a job that is not yours."""
    state: ApiState = websocket.app.state.rh
    try:
        user = await run_in_threadpool(authenticate, websocket)
        await run_in_threadpool(state.runtime.queue.get, job_id, user.id)
        start = _after(websocket.query_params.get("after"))
    except RenderhouseError as exc:
        await websocket.accept()
        await websocket.send_json({"error": exc.to_dict()})
        await websocket.close(code=4000 + exc.http_status if exc.http_status < 1000 else 4000)
        return
    await websocket.accept()
    try:
        async for event in follow(state, job_id, start):
            if event:
                await websocket.send_json({**event, "ts": rfc3339(event["ts"])})
        await websocket.close(code=1000)
    except WebSocketDisconnect:
        return
