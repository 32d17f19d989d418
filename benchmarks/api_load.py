"""HTTP API load on PostgreSQL: POST /v1/jobs at full speed and at a fixed rate from 1,000
concurrent clients, half of them submitting while the other half poll (without, then with a
worker running the jobs), then Server-Sent Events fan-out latency with N subscribers on one
job.

    apt-get install wrk   # the load generator (C, a few MB): Python clients top out first
    .venv/bin/python benchmarks/api_load.py --clients 1000 --rate 500 --seconds 20

Starts its own server (``uvicorn --factory renderhouse.api.app:from_environment``, one
process per core) on a fresh database and drops the database afterwards. Requests are spread
round-robin over ``--users`` users' API keys (their own rate limits, fair-queue lanes and
balances), plus a line for one user alone. Everything runs on this one machine: the server,
PostgreSQL, the load generator and, in the mixed phase, the worker share its cores, so the
figures are a floor for a server with the machine to itself."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
from fsync_probe import FsyncProbe, data_directory

from renderhouse import accounts
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.database import Store
from renderhouse.store.migrate import upgrade

PG = os.environ.get("RENDERHOUSE_TEST_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres")
DB = "rh_bench_api"
PROBE = "fanout-probe"
POLLED_JOBS = 2000


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


def environment(url: str, data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "RENDERHOUSE_DATABASE_URL": url,
        "RENDERHOUSE_DATA_DIR": str(data),
        "RENDERHOUSE_RATE_LIMIT": "10000000/minute",
        "RENDERHOUSE_RATE_LIMIT_GLOBAL": "10000000/minute",
        "RENDERHOUSE_MAX_QUEUE_SIZE": "100000000",
        "RENDERHOUSE_LOG_LEVEL": "WARNING",
        "RENDERHOUSE_EVENTS_POLL_SECONDS": "0.15",
    }


def start_server(url: str, data: Path, port: int, processes: int) -> subprocess.Popen[bytes]:
    server = [sys.executable, "-m", "uvicorn", "--factory", "renderhouse.api.app:from_environment"]
    server += ["--port", str(port), "--workers", str(processes), "--log-level", "warning"]
    server += ["--no-access-log", "--backlog", "4096", "--timeout-keep-alive", "30"]
    return subprocess.Popen(server, env=environment(url, data), preexec_fn=_more_files)


def start_worker(url: str, data: Path) -> subprocess.Popen[bytes]:
    worker = [str(Path(sys.executable).parent / "renderhouse"), "worker", "--kinds", "noop"]
    return subprocess.Popen([*worker, "--concurrency", "64"], env=environment(url, data))


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(30)


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


WRK_SCRIPT = """
local keys, n = {}, 0
local delay_ms, polls = tonumber(os.getenv("DELAY_MS")), nil
local keyed, run = os.getenv("KEYED") == "1", os.getenv("RUN")
local threads = 0  -- each thread gets a global `tid` from setup
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  math.randomseed(tid * 7919 + os.time())  -- threads pick different jobs to poll
end
for pair in string.gmatch(os.getenv("KEYS"), "[^,]+") do
  keys[#keys + 1] = string.match(pair, "[^=]+=(.+)")
end
if os.getenv("POLLS") ~= "" then  -- "job-id key" lines: a poller's jobs, with their owners' keys
  polls = {}
  for line in io.lines(os.getenv("POLLS")) do
    local id, key = string.match(line, "([^ ]+) (.+)")
    polls[#polls + 1] = {id, key}
  end
end
-- Uniform 0..2x the mean pause: arrivals spread out instead of 1,000 clients moving in
-- lockstep waves (which measures the waves' queueing, not the server at that rate).
function delay() return math.random(0, 2 * delay_ms) end
local function headers(key)
  return {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
end
local function submit_headers(key)
  local h = headers(key)
  -- A fresh key per request: every submission runs the idempotency check and records its key.
  if keyed then h["Idempotency-Key"] = run .. "-" .. tid .. "-" .. n end
  return h
end
function request()
  n = n + 1
  if polls then
    local job = polls[math.random(#polls)]
    return wrk.format("GET", "/v1/jobs/" .. job[1], headers(job[2]))
  end
  local key = keys[(n % #keys) + 1]
  return wrk.format("POST", "/v1/jobs", submit_headers(key), '{"kind":"noop"}')
end
function done(summary, latency, requests)
  io.write(string.format("p95_us %d\\n", latency:percentile(95.0)))
end
"""


def wrk(
    base: str,
    keys: list[tuple[str, str]],
    clients: int,
    seconds: float,
    delay_ms: int,
    keyed: bool = False,
) -> dict[str, Any]:
    """Run wrk (closed loop; each connection waits ``delay_ms`` after each response, which
    paces 1,000 connections to a chosen rate) and parse its summary."""
    return wrk_result(wrk_start(base, keys, clients, seconds, delay_ms, None, keyed))


def wrk_pair(
    base: str,
    keys: list[tuple[str, str]],
    polls: Path,
    clients: int,
    seconds: float,
    delay_ms: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``clients`` submitting and as many polling the jobs in ``polls`` at once, in two wrk
    processes so that each side's latency is its own: (submitters, pollers)."""
    submit = wrk_start(base, keys, clients, seconds, delay_ms, None, False)
    poll = wrk_start(base, keys, clients, seconds, delay_ms, polls, False)
    return wrk_result(submit), wrk_result(poll)


def wrk_start(
    base: str,
    keys: list[tuple[str, str]],
    clients: int,
    seconds: float,
    delay_ms: int,
    polls: Path | None,
    keyed: bool,
) -> tuple[subprocess.Popen[str], Path]:
    """Start wrk with its script; ``wrk_result`` waits for it."""
    script = Path(f"/tmp/rh-bench-wrk-{os.getpid()}-{time.monotonic_ns()}.lua")
    script.write_text(WRK_SCRIPT)
    env = {
        **os.environ,
        "KEYS": ",".join(f"{owner}={key}" for owner, key in keys),
        "DELAY_MS": str(delay_ms),
        "POLLS": str(polls or ""),
        "KEYED": "1" if keyed else "0",
        "RUN": f"{os.getpid()}-{time.monotonic_ns()}",
    }
    cmd = ["wrk", "-t2", f"-c{clients}", f"-d{round(seconds)}s", "--latency", "--timeout", "10s"]
    proc = subprocess.Popen(
        [*cmd, "-s", str(script), base],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_more_files,
    )
    return proc, script


def wrk_result(started: tuple[subprocess.Popen[str], Path]) -> dict[str, Any]:
    proc, script = started
    out, err = proc.communicate()
    script.unlink()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk exited with {proc.returncode}: {err.strip()}")
    if err.strip():  # a Lua error: wrk would go on with plain GET / requests
        raise RuntimeError(f"wrk: {err.strip()}")

    def ms(label: str) -> float:
        m = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        if m is None:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    m95 = re.search(r"^p95_us (\d+)$", out, re.M)
    p95 = round(int(m95.group(1)) / 1000, 2) if m95 else float("nan")
    errors = {}
    for name, pattern in (
        ("non2xx", r"Non-2xx or 3xx responses: (\d+)"),
        ("socket", r"Socket errors: (.*)"),
    ):
        m = re.search(pattern, out)
        if m:
            errors[name] = m.group(1)
    requests = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {
        "requests": requests,
        "rps": round(rps, 1),
        "p50_ms": ms("50%"),
        "p90_ms": ms("90%"),
        "p95_ms": p95,
        "p99_ms": ms("99%"),
        "errors": errors,
    }


def paced_delay(clients: int, rate: int) -> int:
    """The mean pause (ms) after each response that paces ``clients`` to ``rate`` requests
    per second in all; the rest of each cycle is the latency."""
    return round(0.97 * 1000 * clients / rate)


def poll_targets(rt: Runtime, keys: list[tuple[str, str]], n: int) -> Path:
    """``n`` new ``noop`` jobs spread over the users, as "job-id key" lines in a file: what
    the pollers poll, a random one per request (distinct ids, as many clients' jobs are)."""
    lines = []
    for i in range(n):
        owner, key = keys[i % len(keys)]
        job, _ = rt.queue.enqueue(NewJob(kind="noop", input={}, owner=owner))
        lines.append(f"{job.id} {key}\n")
    path = Path(f"/tmp/rh-bench-polls-{os.getpid()}.txt")
    path.write_text("".join(lines))
    return path


def mixed_phase(
    label: str,
    disk: Path | None,
    base: str,
    keys: list[tuple[str, str]],
    polls: Path,
    clients: int,
    seconds: float,
    delay_ms: int,
) -> None:
    with FsyncProbe(disk) as probe:
        submitters, pollers = wrk_pair(base, keys, polls, clients, seconds, delay_ms)
    polls.unlink()
    print(f"{label}: {json.dumps(submitters)}")
    print(f"  and {clients} clients polling jobs: {json.dumps(pollers)}")
    print(f"    disk flushes meanwhile: {json.dumps(probe.summary())}")


def _more_files() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))


async def sse_lines(base: str, key: str, path: str) -> AsyncIterator[bytes]:
    """An SSE stream's raw lines over a bare asyncio connection: a thousand httpx streams in
    one process measure the client more than the server."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n"
    writer.write(request.encode())
    try:
        while line := await reader.readline():
            yield line
    finally:
        writer.close()


async def fanout(
    base: str, key: str, owner: str, rt: Runtime, subscribers: int, events: int
) -> dict[str, Any]:
    """N SSE subscribers on one job; the latency from each progress commit to each receipt."""
    # A kind no worker runs: this process moves the job by hand and stamps each event.
    job, _ = rt.queue.enqueue(NewJob(kind=PROBE, input={}, owner=owner))
    received: list[float] = []
    connected = 0

    async def subscribe() -> None:
        nonlocal connected
        counted = False
        async for line in sse_lines(base, key, f"/v1/jobs/{job.id}/events"):
            now = time.time()
            if not counted:
                connected, counted = connected + 1, True
            if not line.startswith(b"data:"):
                continue
            data = json.loads(line[5:])
            if str(data.get("message", "")).startswith("sent:"):
                received.append(now - float(data["message"][5:]))
            if data.get("state") == "succeeded":
                return

    tasks = [asyncio.create_task(subscribe()) for _ in range(subscribers)]
    while connected < subscribers:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    (claimed,) = await asyncio.to_thread(rt.queue.claim, [PROBE], 1, "bench")
    for i in range(events):
        message = f"sent:{time.time():.6f}"
        await asyncio.to_thread(rt.queue.progress, job.id, claimed.attempt, i + 1, events, message)
        await asyncio.sleep(1.0)
    await asyncio.to_thread(rt.queue.complete, job.id, claimed.attempt, {})
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


def drop_queued(url: str) -> int:
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        return conn.execute("DELETE FROM jobs WHERE state = 'queued'").rowcount


def wait_drained(url: str, seconds: float) -> bool:
    """Wait until the worker has run everything queued (so the fan-out is measured beside
    an idle worker, as in a steady state)."""
    deadline = time.monotonic() + seconds
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM jobs WHERE state IN ('queued', 'running')")
            if row.fetchone() == (0,):
                return True
            time.sleep(0.5)
    return False


def make_users(rt: Runtime, n: int) -> list[tuple[str, str]]:
    """``n`` users and an API key each, as (user id, key)."""
    out = []
    with rt.store.begin() as conn:
        for i in range(n):
            user = accounts.create_user(conn, f"load-{i}")
            out.append((user.id, accounts.create_key(conn, user, name="bench")))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=500, help="paced phase: requests/s in all")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--users", type=int, default=100)
    ap.add_argument("--subscribers", type=int, default=1000)
    ap.add_argument("--events", type=int, default=5)
    ap.add_argument("--fanout-only", action="store_true", help="skip the request phases")
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("this benchmark needs wrk: apt-get install wrk")
    _more_files()
    url = fresh_database()
    data = Path(f"/tmp/rh-bench-api-{os.getpid()}")
    rt = Runtime(Settings(database_url=url, data_dir=data, max_queue_size=100_000_000))
    with rt.store.begin() as conn:
        admin_key = accounts.bootstrap_admin(conn)
        owner = accounts.find_user(conn, "admin").id
    assert admin_key
    keys = make_users(rt, args.users)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(url, data, port, args.processes)
    worker: subprocess.Popen[bytes] | None = None
    pace = paced_delay(args.clients, args.rate)
    try:
        asyncio.run(wait_ready(base))
        print(f"nproc={os.cpu_count()} server processes={args.processes} users={args.users}")
        with open("/proc/loadavg") as fh:
            print("load average before:", fh.read().split()[:3])
        wrk(base, keys, 64, 3, 0)  # warm-up: connections, caches, prepared statements
        paced = f"{args.clients} clients paced to {args.rate}/s"
        phases = [
            ("POST /v1/jobs, 64 clients flat out", keys, 64, 0, False),
            ("  same, each with its own Idempotency-Key", keys, 64, 0, True),
            (f"POST /v1/jobs, {paced}", keys, args.clients, pace, False),
            ("  same, each with its own Idempotency-Key", keys, args.clients, pace, True),
            (f"  same, all {args.clients} clients one user", keys[:1], args.clients, pace, False),
        ]
        disk = data_directory(url)
        for label, ks, clients, delay, keyed in [] if args.fanout_only else phases:
            with FsyncProbe(disk) as probe:
                result = wrk(base, ks, clients, args.seconds, delay, keyed=keyed)
            print(f"{label}: {json.dumps(result)}")
            print(f"    disk flushes meanwhile: {json.dumps(probe.summary())}")
        half = args.clients // 2
        if not args.fanout_only:
            # The mix: half the clients submit at the full rate while the other half
            # poll their jobs as often; each side's latency measured by its own wrk.
            label = f"submit + poll, {half} clients submitting at {args.rate}/s"
            polls = poll_targets(rt, keys, POLLED_JOBS)
            delay = paced_delay(half, args.rate)
            mixed_phase(label, disk, base, keys, polls, half, args.seconds, delay)
        # The worker runs only what is submitted from here on: the earlier phases left tens of
        # thousands of queued jobs, and a worker chewing through that backlog on the same two
        # cores would measure the backlog, not the mix (in a steady state jobs in = jobs out).
        print("queued jobs dropped before the worker starts:", drop_queued(url))
        worker = start_worker(url, data)
        if not args.fanout_only:
            # In a steady state the worker runs what comes in: at half the rate, as much as it
            # and the server can do together on two cores.
            rate = args.rate // 2
            label = f"submit + poll, worker running, {half} clients submitting at {rate}/s"
            polls = poll_targets(rt, keys, POLLED_JOBS)
            wait_drained(url, 120)  # polled jobs the worker has run, not a backlog
            delay = paced_delay(half, rate)
            mixed_phase(label, disk, base, keys, polls, half, args.seconds, delay)
        print("queue drained before fan-out:", wait_drained(url, 120))
        fan = asyncio.run(fanout(base, admin_key, owner, rt, args.subscribers, args.events))
        print("sse fan-out:", json.dumps(fan))
    finally:
        for proc in (worker, server):
            if proc is not None:
                stop(proc)
        rt.close()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')


if __name__ == "__main__":
    main()
