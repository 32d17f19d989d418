"""A small Python client for the HTTP API, sync (``Client``) and async (``AsyncClient``):
submit a job, wait for it while following its progress over SSE (reconnecting with
``Last-Event-ID`` when the connection drops), and download its artifacts."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
Progress = Callable[[dict[str, Any]], object]


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, details: dict[str, Any]) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message, self.details = status, code, message, details


def _check(r: httpx.Response) -> Any:
    if r.is_success:
        return r.json() if r.content else None
    try:
        err = r.json()["error"]
    except (ValueError, KeyError, TypeError):
        err = {"code": f"http_{r.status_code}", "message": r.text[:200], "details": {}}
    raise ApiError(r.status_code, err["code"], err["message"], err.get("details", {}))


class _SSE:
    """Incremental Server-Sent Events parser: feed lines, get events with their ids."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def feed(self, line: str) -> dict[str, Any] | None:
        if line == "":
            fields, self.fields = self.fields, {}
            if "id" not in fields:
                return None
            data = json.loads(fields.get("data", "{}"))
            return {"id": int(fields["id"]), "type": fields.get("event", "message"), "data": data}
        if not line.startswith(":") and ":" in line:
            key, _, value = line.partition(":")
            self.fields[key] = value[1:] if value.startswith(" ") else value
        return None


def _is_end(event: dict[str, Any]) -> bool:
    return event["type"] == "state" and event["data"].get("state") in TERMINAL


def _job_body(kind: str, input: dict[str, Any], priority: int, webhook_url: str | None) -> dict:
    body: dict[str, Any] = {"kind": kind, "input": input, "priority": priority}
    if webhook_url:
        body["webhook_url"] = webhook_url
    return body


class Client:
    def __init__(self, base_url: str, api_key: str, **httpx_kwargs: Any) -> None:
        headers = {"Authorization": f"Bearer {api_key}"}
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=30, **httpx_kwargs)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.http.close()

    def submit(
        self,
        kind: str,
        input: dict[str, Any] | None = None,
        *,
        priority: int = 0,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = _job_body(kind, input or {}, priority, webhook_url)
        return _check(self.http.post("/v1/jobs", json=body, headers=headers))

    def upload(self, path: Path) -> dict[str, Any]:
        with path.open("rb") as fh:
            return _check(self.http.post("/v1/uploads", files={"file": (path.name, fh)}))

    def job(self, job_id: str) -> dict[str, Any]:
        return _check(self.http.get(f"/v1/jobs/{job_id}"))

    def events(self, job_id: str, after: int = 0, retries: int = 5) -> Iterator[dict[str, Any]]:
        """Every event of the job past ``after``, once each, reconnecting on drops."""
        failures = 0
        while True:
            headers = {"Last-Event-ID": str(after)} if after else {}
            try:
                with self.http.stream(
                    "GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=None
                ) as r:
                    if not r.is_success:
                        r.read()
                        _check(r)
                    parser = _SSE()
                    for line in r.iter_lines():
                        event = parser.feed(line)
                        if event is None:
                            continue
                        after, failures = event["id"], 0
                        yield event
                        if _is_end(event):
                            return
                    return
            except httpx.TransportError:
                failures += 1
                if failures > retries:
                    raise
                time.sleep(min(0.2 * 2**failures, 5))

    def wait(self, job_id: str, on_event: Progress | None = None) -> dict[str, Any]:
        for event in self.events(job_id):
            if on_event is not None:
                on_event(event)
        return self.job(job_id)

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        return _check(self.http.get(f"/v1/jobs/{job_id}/artifacts"))

    def download(self, job_id: str, out_dir: Path) -> list[Path]:
        paths = []
        for art in self.artifacts(job_id):
            target = out_dir / art["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            with self.http.stream("GET", art["url"], headers={"Authorization": ""}) as r:
                if not r.is_success:
                    r.read()
                    _check(r)
                with target.open("wb") as fh:
                    for chunk in r.iter_bytes():
                        fh.write(chunk)
            paths.append(target)
        return paths


class AsyncClient:
    def __init__(self, base_url: str, api_key: str, **httpx_kwargs: Any) -> None:
        headers = {"Authorization": f"Bearer {api_key}"}
        self.http = httpx.AsyncClient(
            base_url=base_url, headers=headers, timeout=30, **httpx_kwargs
        )

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def submit(
        self,
        kind: str,
        input: dict[str, Any] | None = None,
        *,
        priority: int = 0,
        webhook_url: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        body = _job_body(kind, input or {}, priority, webhook_url)
        return _check(await self.http.post("/v1/jobs", json=body, headers=headers))

    async def job(self, job_id: str) -> dict[str, Any]:
        return _check(await self.http.get(f"/v1/jobs/{job_id}"))

    async def events(self, job_id: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        while True:
            headers = {"Last-Event-ID": str(after)} if after else {}
            async with self.http.stream(
                "GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=None
            ) as r:
                if not r.is_success:
                    await r.aread()
                    _check(r)
                parser = _SSE()
                async for line in r.aiter_lines():
                    event = parser.feed(line)
                    if event is None:
                        continue
                    after = event["id"]
                    yield event
                    if _is_end(event):
                        return
                return

    async def wait(self, job_id: str, on_event: Progress | None = None) -> dict[str, Any]:
        async for event in self.events(job_id):
            if on_event is not None:
                on_event(event)
        return await self.job(job_id)

    async def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        return _check(await self.http.get(f"/v1/jobs/{job_id}/artifacts"))
