"""HTTP API load: N concurrent clients submitting and polling jobs against a running server
on PostgreSQL, then Server-Sent Events fan-out latency with N subscribers on one job.

    .venv/bin/python benchmarks/api_load.py --clients 1000 --seconds 20 --processes 2

Starts its own server (``uvicorn --factory renderhouse.api.app:from_environment``) and a
``noop`` worker on a fresh database, and drops the database afterwards. Reports requests/s,
latency percentiles and errors. The client runs in this one Python process, so on a small
machine the figures measure client and server together: read them as a floor."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg

from renderhouse import accounts
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.database import Store
from renderhouse.store.migrate import upgrade

PG = os.environ.get("RENDERHOUSE_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres")
DB = "rh_bench_api"
PROBE = "fanout-probe"


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def fresh_database() -> str:
    with psycopg.connect(PG, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{DB}"')
    url = PG.rsplit("/", 1)[0] + f"/{DB}"
    store = Store(url)
    upgrade(store)
    store.dispose()
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(url: str, data: Path, port: int, processes: int) -> list[subprocess.Popen[bytes]]:
    env = {
        **os.environ,
        "RENDERHOUSE_DATABASE_URL": url,
        "RENDERHOUSE_DATA_DIR": str(data),
        "RENDERHOUSE_RATE_LIMIT": "10000000/minute",
        "RENDERHOUSE_RATE_LIMIT_GLOBAL": "10000000/minute",
        "RENDERHOUSE_LOG_LEVEL": "WARNING",
        "RENDERHOUSE_EVENTS_POLL_SECONDS": "0.15",
    }
    server = [sys.executable, "-m", "uvicorn", "--factory", "renderhouse.api.app:from_environment"]
    server += ["--port", str(port), "--workers", str(processes), "--log-level", "warning"]
    server += ["--no-access-log", "--backlog", "4096"]
    worker = [str(Path(sys.executable).parent / "renderhouse"), "worker", "--kinds", "noop"]
    return [
        subprocess.Popen(server, env=env),
        subprocess.Popen([*worker, "--concurrency", "64"], env=env),
    ]


async def wait_ready(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as c:
        for _ in range(300):
            try:
                if (await c.get("/health/ready")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("the server did not become ready")


async def load(
    base: str, key: str, clients: int, seconds: float, baseline: bool = False
) -> dict[str, Any]:
    """Each client: submit a job, then poll it until it ends, repeat until time is up. With
    ``baseline`` it only calls ``/health/live`` (no auth, no database): what the server and
    this machine manage at all, to read the other figures against."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    headers = {"Authorization": f"Bearer {key}"}

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=60) as c:

        async def call(method: str, path: str, **kw: Any) -> httpx.Response | None:
            t0 = time.perf_counter()
            try:
                r = await c.request(method, path, **kw)
            except httpx.HTTPError as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                return None
            latencies.append(time.perf_counter() - t0)
            if r.status_code >= 400:
                errors[str(r.status_code)] = errors.get(str(r.status_code), 0) + 1
                return None
            return r

        async def client() -> None:
            while baseline and time.perf_counter() < stop:
                await call("GET", "/health/live")
            while time.perf_counter() < stop:
                r = await call("POST", "/v1/jobs", json={"kind": "noop"})
                if r is None:
                    continue
                job_id = r.json()["id"]
                while time.perf_counter() < stop:
                    got = await call("GET", f"/v1/jobs/{job_id}")
                    if got is None or got.json()["state"] in ("succeeded", "failed"):
                        break
                    await asyncio.sleep(0.2)

        started = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "rps": len(latencies) / elapsed,
        "p50_ms": pct(latencies, 50),
        "p95_ms": pct(latencies, 95),
        "p99_ms": pct(latencies, 99),
        "errors": errors,
    }


async def fanout(
    base: str, key: str, owner: str, rt: Runtime, subscribers: int, events: int
) -> dict[str, Any]:
    """N SSE subscribers on one job; the latency from each progress commit to each receipt."""
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=subscribers + 10)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=None) as c:
        # A kind no worker runs: this process moves the job by hand and stamps each event.
        job, _ = rt.queue.enqueue(NewJob(kind=PROBE, input={}, owner=owner))
        job_id = job.id
        received: list[float] = []
        connected = 0

        async def subscribe() -> None:
            nonlocal connected
            async with c.stream("GET", f"/v1/jobs/{job_id}/events") as r:
                counted = False
                async for line in r.aiter_lines():
                    if not counted:
                        connected, counted = connected + 1, True
                    if not line.startswith("data:"):
                        continue
                    data = json.loads(line[5:])
                    if str(data.get("message", "")).startswith("sent:"):
                        received.append(time.time() - float(data["message"][5:]))
                    if data.get("state") == "succeeded":
                        return

        tasks = [asyncio.create_task(subscribe()) for _ in range(subscribers)]
        while connected < subscribers:
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.0)
        (claimed,) = await asyncio.to_thread(rt.queue.claim, [PROBE], 1, "bench")
        for i in range(events):
            message = f"sent:{time.time():.6f}"
            await asyncio.to_thread(
                rt.queue.progress, job_id, claimed.attempt, i + 1, events, message
            )
            await asyncio.sleep(1.0)
        await asyncio.to_thread(rt.queue.complete, job_id, claimed.attempt, {})
        await asyncio.wait_for(asyncio.gather(*tasks), 120)
    return {
        "subscribers": subscribers,
        "deliveries": len(received),
        "expected": subscribers * events,
        "p50_ms": pct(received, 50),
        "p95_ms": pct(received, 95),
        "p99_ms": pct(received, 99),
        "max_ms": max(received) * 1000 if received else float("nan"),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--processes", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--events", type=int, default=5)
    args = ap.parse_args()
    url = fresh_database()
    data = Path(f"/tmp/rh-bench-api-{os.getpid()}")
    settings = Settings(database_url=url, data_dir=data)
    rt = Runtime(settings)
    with rt.store.begin() as conn:
        key = accounts.bootstrap_admin(conn)
        owner = accounts.find_user(conn, "admin").id
    assert key
    port = free_port()
    procs = start(url, data, port, args.processes)
    base = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_ready(base))
        print(f"nproc={os.cpu_count()} clients={args.clients} processes={args.processes}")
        with open("/proc/loadavg") as fh:
            print("load average before:", fh.read().split()[:3])
        floor = asyncio.run(load(base, key, args.clients, args.seconds / 2, baseline=True))
        print("baseline /health/live:", json.dumps(floor))
        result = asyncio.run(load(base, key, args.clients, args.seconds))
        print("load:", json.dumps(result))
        fan = asyncio.run(fanout(base, key, owner, rt, args.subscribers, args.events))
        print("sse fan-out:", json.dumps(fan))
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        rt.close()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
