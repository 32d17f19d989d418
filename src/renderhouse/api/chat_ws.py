"""``WS /v1/chat/ws``: the dashboard's chat stream. Authenticated like the job streams
(``?token=`` or a header); each text message is a chat request ``{"model", "messages",
"max_tokens"?, "temperature"?}`` answered by ``{"type": "delta", "content"}`` frames and
one ``{"type": "done", "usage", "deployment"}`` or ``{"type": "error", "error"}``. Money,
limits, fallbacks and health are those of ``POST /v1/chat/completions``."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from renderhouse.api.auth import authenticate
from renderhouse.api.chat import chat_request, parse
from renderhouse.api.state import ApiState
from renderhouse.errors import InvalidInput, RenderhouseError
from renderhouse.models.gateway import Gateway
from renderhouse.providers.base import Delta, Usage

router = APIRouter(tags=["chat"])
MAX_MESSAGE = 1 << 20


@router.websocket("/v1/chat/ws")
async def chat_ws(websocket: WebSocket) -> None:
    state: ApiState = websocket.app.state.rh
    gateway = state.gateway
    try:
        user = await run_in_threadpool(authenticate, websocket)
    except RenderhouseError as exc:
        await websocket.accept()
        await websocket.send_json({"type": "error", "error": exc.to_dict()})
        await websocket.close(code=4000 + exc.http_status)
        return
    await websocket.accept()
    try:
        while True:
            text = await websocket.receive_text()
            await _answer(websocket, gateway, user, text)
    except WebSocketDisconnect:
        return


async def _answer(websocket: WebSocket, gateway: Gateway, user: Any, text: str) -> None:
    try:
        if len(text) > MAX_MESSAGE:
            raise InvalidInput(f"a chat request is at most {MAX_MESSAGE} bytes")
        try:
            raw = json.loads(text)
        except ValueError:
            raise InvalidInput("the message is not JSON", code="malformed_json") from None
        stream = await gateway.stream(user, chat_request(parse(raw)))
        usage: Usage | None = None
        async for event in stream.events():
            if isinstance(event, Usage):
                usage = event
            elif isinstance(event, Delta) and event.delta.get("content"):
                await websocket.send_json({"type": "delta", "content": event.delta["content"]})
        await websocket.send_json(
            {
                "type": "done",
                "usage": (usage or Usage()).to_dict(),
                "deployment": stream.deployment.id,
            }
        )
    except RenderhouseError as exc:
        await websocket.send_json({"type": "error", "error": exc.to_dict()})
