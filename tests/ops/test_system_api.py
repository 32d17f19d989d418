"""The system routes and readiness, through the real ASGI app in-process."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

import renderhouse.store.schema_auth  # noqa: F401  (its tables exist in the schema)
from renderhouse import accounts, metrics
from renderhouse.api import create_app, system
from renderhouse.ops import firing
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.worker import registration


@pytest.fixture
def rt(db_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = Runtime(
        Settings(
            database_url=db_url,
            data_dir=tmp_path / "data",
            secret_key="test-secret-key-0123456789abcdef-xyz",
            rate_limit="100000/minute",
            rate_limit_global="100000/minute",
            alert_webhook_url="http://hooks.test/alerts",
            backlog_alert_seconds=60,
        )
    )
    yield runtime
    runtime.close()


@pytest.fixture
def keys(rt: Runtime) -> dict[str, str]:
    with rt.store.begin() as conn:
        admin = accounts.create_user(conn, "root", is_admin=True)
        alice = accounts.create_user(conn, "alice")
        return {
            "admin": accounts.create_key(conn, admin, scope="admin"),
            "alice": accounts.create_key(conn, alice),
        }


def build(
    rt: Runtime,
    *,
    alert_transport: httpx.BaseTransport | None = None,
    expect_workers: bool = False,
) -> FastAPI:
    app = create_app(rt.settings, rt, expect_workers=expect_workers)
    app.include_router(system.router)
    app.add_middleware(metrics.MetricsMiddleware)
    app.state.rh.alerts.transport = alert_transport
    return app


def call(app: FastAPI, method: str, path: str, key: str | None = None, **kw: Any) -> httpx.Response:
    async def go() -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await client.request(method, path, headers=headers, **kw)

    return asyncio.run(go())


def test_system_metrics_snapshot(rt: Runtime, keys: dict[str, str]) -> None:
    rt.queue.enqueue(NewJob(kind="noop", input={}))
    body = call(build(rt), "GET", "/v1/system/metrics", keys["admin"]).json()
    assert body["queue"]["noop"]["queued"] == 1
    assert body["memory"]["total"] > 0 and 0 <= body["disk"]["percent"] <= 100
    assert set(body["throughput"]) == {"5m", "1h", "24h"}
    assert len(body["series"]) == 60
    assert call(build(rt), "GET", "/v1/system/metrics").status_code == 401


def test_prometheus_endpoint(rt: Runtime) -> None:
    rt.queue.enqueue(NewJob(kind="noop", input={}))
    app = build(rt)
    call(app, "GET", "/health/live")
    resp = call(app, "GET", "/metrics")
    assert resp.status_code == 200
    assert 'renderhouse_queue_jobs{kind="noop",state="queued"} 1.0' in resp.text
    assert 'route="/health/live"' in resp.text


def test_optimize_is_admin_only_and_reports(rt: Runtime, keys: dict[str, str]) -> None:
    app = build(rt)
    assert call(app, "POST", "/v1/system/optimize", keys["alice"], json={}).status_code == 403
    old = rt.settings.data_dir / "tmp" / "upload-abandoned"
    old.parent.mkdir(parents=True, exist_ok=True)
    old.write_bytes(b"x" * 1000)
    long_ago = time.time() - 7200
    import os

    os.utime(old, (long_ago, long_ago))
    job, _ = rt.queue.enqueue(NewJob(kind="noop", input={}))
    (claimed,) = rt.queue.claim(["noop"], 1, "w")
    rt.queue.complete(claimed.id, claimed.attempt)
    with rt.store.begin() as conn:  # finished long before the retention period
        conn.exec_driver_sql(f"UPDATE jobs SET finished_at = 1 WHERE id = '{job.id}'")
    resp = call(app, "POST", "/v1/system/optimize", keys["admin"], json={"type": "full"})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    # The system temp dir may hold other abandoned work dirs too: count at least ours.
    assert out["disk"]["temp_entries"] >= 1 and out["disk"]["temp_bytes"] >= 1000
    assert not old.exists()
    assert out["disk"]["jobs_pruned"] == 1
    assert out["memory"]["rss_after"] > 0
    assert not old.exists()
    bad = call(app, "POST", "/v1/system/optimize", keys["admin"], json={"type": "cpu"})
    assert bad.status_code == 422


def test_alerts_fire_once_to_the_webhook(rt: Runtime, keys: dict[str, str]) -> None:
    posted: list[dict[str, Any]] = []

    def hook(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(204)

    app = build(rt, alert_transport=httpx.MockTransport(hook))
    rt.queue.enqueue(NewJob(kind="noop", input={}, run_at=time.time() - 600))
    registration.register(rt.store, "dead-worker", ["noop"], time.time() - 3600)
    evaluate = "/v1/system/alerts/evaluate"  # a GET announces nothing (issue 14)
    first = call(app, "POST", evaluate, keys["admin"]).json()
    names = {a["name"] for a in first["firing"]}
    assert {"queue_backlog", "worker_heartbeat_lost"} <= names
    call(app, "POST", evaluate, keys["admin"])  # still firing: no second POST
    assert len(posted) == 1
    assert {a["name"] for a in posted[0]["firing"]} == names
    registration.unregister(rt.store, "dead-worker")
    call(app, "POST", evaluate, keys["admin"])
    assert [a["name"] for a in posted[1]["resolved"]] == ["worker_heartbeat_lost"]


def test_readiness_is_fast_and_detailed(rt: Runtime) -> None:
    app = build(rt, expect_workers=True)
    first = call(app, "GET", "/health/ready")
    assert first.status_code == 503
    checks = first.json()["checks"]
    assert checks["schema"]["ok"] and checks["storage"]["ok"]
    assert not checks["workers"]["ok"] and "noop" in checks["workers"]["detail"]
    registration.register(rt.store, "w1", rt.registry.kinds(), time.time())
    time.sleep(1.1)  # the cached result is a second old: the next call refreshes it
    call(app, "GET", "/health/ready")
    deadline = time.time() + 5
    while call(app, "GET", "/health/ready").status_code != 200:
        assert time.time() < deadline
        time.sleep(0.05)
    from renderhouse.api.health import run_checks

    timings = []
    for _ in range(50):
        started = time.perf_counter()
        ok, _results = run_checks(app.state.rh)
        timings.append(time.perf_counter() - started)
        assert ok
    assert max(timings) < 0.005  # every check answered from its cache
    assert call(app, "GET", "/health/live").json() == {"status": "ok"}
    app.state.rh.health.readiness.settle()  # before the fixture closes the store


def test_alerts_are_evaluated_on_schedule_without_a_reader(rt: Runtime) -> None:
    """Workers and serve run the rules as a maintenance duty: the webhook hears of an alert
    even when nobody reads /v1/system/alerts."""
    from renderhouse.ops import alert_watch
    from renderhouse.worker.maintenance import Maintenance

    posted: list[dict[str, Any]] = []

    def hook(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(204)

    notifier = alert_watch.notifier(rt)
    notifier.transport = httpx.MockTransport(hook)
    registration.register(rt.store, "dead-worker", ["noop"], time.time() - 3600)
    duties = Maintenance(rt.queue, rescue_every=60, extra=[alert_watch.duty(rt, notifier)])

    async def run_until_posted() -> None:
        stopping = asyncio.Event()
        task = asyncio.create_task(duties.run(stopping))
        deadline = time.monotonic() + 10
        while not posted and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        stopping.set()
        await task

    asyncio.run(run_until_posted())
    assert posted, "the scheduled evaluation never called the webhook"
    assert "worker_heartbeat_lost" in {a["name"] for a in posted[0]["firing"]}


def test_system_routes_show_a_user_only_its_own(rt: Runtime, keys: dict[str, str]) -> None:
    """Issue 14: a user key read every tenant's queue, the host and the data directory."""
    with rt.store.read() as conn:
        alice_id = accounts.find_user(conn, "alice").id
    rt.queue.enqueue(NewJob(kind="noop", input={}))  # someone else's
    rt.queue.enqueue(NewJob(kind="noop", input={}, owner=alice_id))
    app = build(rt)
    own = call(app, "GET", "/v1/system/metrics", keys["alice"]).json()
    assert own["scope"] == "own" and own["queue"]["noop"]["queued"] == 1
    assert not {"cpu", "memory", "disk", "workers", "breakers", "process"} & set(own)
    everything = call(app, "GET", "/v1/system/metrics", keys["admin"]).json()
    assert everything["scope"] == "cluster" and everything["queue"]["noop"]["queued"] == 2
    assert call(app, "GET", "/v1/system/alerts", keys["alice"]).status_code == 403
    assert call(app, "POST", "/v1/system/alerts/evaluate", keys["alice"]).status_code == 403


def test_reading_alerts_announces_nothing(rt: Runtime, keys: dict[str, str]) -> None:
    posted: list[dict[str, Any]] = []

    def hook(request: httpx.Request) -> httpx.Response:
        posted.append(json.loads(request.content))
        return httpx.Response(204)

    app = build(rt, alert_transport=httpx.MockTransport(hook))
    registration.register(rt.store, "dead-worker", ["noop"], time.time() - 3600)
    for _ in range(2):
        body = call(app, "GET", "/v1/system/alerts", keys["admin"]).json()
        assert "worker_heartbeat_lost" in {a["name"] for a in body["firing"]}
        assert len(body["started"]) >= 1  # announced by the next evaluation, not by this GET
    assert posted == [] and firing.firing(rt.store) == []
    call(app, "POST", "/v1/system/alerts/evaluate", keys["admin"])
    assert len(posted) == 1
    assert call(app, "GET", "/v1/system/alerts", keys["admin"]).json()["started"] == []
