"""The pose platform routes in one API process (SQLite, in-process ASGI client): creating an
avatar (stage + validate + map the mannequin), listing the library, a pose thumbnail on its
first request (cold process: GL context; then warm) and from the cache, and how long the
event loop answers ``/health/live`` while a thumbnail renders (it must not stall).

    .venv/bin/python benchmarks/pose_api.py [--reps 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from renderhouse import accounts
from renderhouse.api import create_app
from renderhouse.generators.pose.mannequin import build_mannequin
from renderhouse.generators.pose.pose_format import library
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.database import Store
from renderhouse.store.migrate import upgrade


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} / {max(values) * 1000:.1f} ms"


async def timed(call) -> tuple[float, httpx.Response]:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    r = await call
    return time.perf_counter() - t0, r


async def run(root: Path, reps: int) -> None:
    url = f"sqlite:///{root / 'bench.db'}"
    store = Store(url)
    upgrade(store)
    store.dispose()
    s = Settings(database_url=url, data_dir=root / "data", secret_key="b" * 40, max_upload_mb=64,
                 rate_limit="1000000/minute", rate_limit_global="1000000/minute",
                 upload_rate_limit="1000000/hour")  # fmt: skip
    rt = Runtime(s)
    with rt.store.begin() as conn:
        user = accounts.create_user(conn, "bench")
        key = accounts.create_key(conn, user)
    app = create_app(s, rt)
    glb = build_mannequin(root / "Mannequin.glb")
    headers = {"Authorization": f"Bearer {key}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        files = {"file": ("Mannequin.glb", glb.read_bytes(), "model/gltf-binary")}
        ref = (await c.post("/v1/uploads", files=files)).json()["ref"]
        create = []
        for _ in range(reps):
            dt, r = await timed(c.post("/v1/avatars", json={"upload": ref}))
            assert r.status_code == 201, r.text
            create.append(dt)
        listing = []
        for _ in range(reps):
            dt, r = await timed(c.get("/v1/poses", params={"q": "stand"}))
            listing.append(dt)
        names = list(library())[: reps + 1]
        first, r = await timed(c.get(f"/v1/poses/{names[0]}/thumbnail.png"))
        assert r.status_code == 200, r.text
        warm, cached = [], []
        for name in names[1:]:
            dt, r = await timed(c.get(f"/v1/poses/{name}/thumbnail.png"))
            warm.append(dt)
            dt, r = await timed(c.get(f"/v1/poses/{name}/thumbnail.png"))
            cached.append(dt)
        # The event loop during renders: liveness probes every 10 ms while thumbnails render.
        probes: list[float] = []
        render = asyncio.gather(
            *(c.get(f"/v1/poses/{n}/thumbnail.png") for n in list(library())[reps + 1 : reps + 9])
        )
        task = asyncio.ensure_future(render)
        while not task.done():
            dt, _ = await timed(c.get("/health/live"))
            probes.append(dt)
            await asyncio.sleep(0.01)
        assert all(r.status_code == 200 for r in task.result())
    await app.state.rh.close()
    rt.close()
    print(f"load average: {os.getloadavg()}")
    print(f"POST /v1/avatars (Mannequin, 5.7k tris)   median / max of {reps}: {ms(create)}")
    print(f"GET /v1/poses?q=stand                     median / max of {reps}: {ms(listing)}")
    print(f"thumbnail, first request (cold process):  {first * 1000:.0f} ms")
    print(f"thumbnail, first request (warm process)   median / max of {reps}: {ms(warm)}")
    print(f"thumbnail, cached                         median / max of {reps}: {ms(cached)}")
    print(f"/health/live during 8 renders ({len(probes)} probes) median / max: {ms(probes)}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp), args.reps))


if __name__ == "__main__":
    main()
