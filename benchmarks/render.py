"""The render generator's speed targets on this machine:

* report alone on a 1024² image (target < 200 ms),
* deterministic render + composite + report, warm process (target < 1.5 s),
* plan cache: a repeated request takes its plan from the cache (no planner call).

Uses only files in the repository (examples/render, tests/assets/BoomBox.glb). Prints the
machine's load, since this box is shared.

    .venv/bin/python benchmarks/render.py [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def ms(values: list[float]) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
    return f"median {1000 * statistics.median(values):7.1f} ms  p95 {1000 * p95:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    from renderhouse.generators.local_context import LocalContext
    from renderhouse.generators.render import RenderGenerator
    from renderhouse.generators.render.canon_images import load_rgba, to_data_url
    from renderhouse.generators.render.composite import trim
    from renderhouse.generators.render.job import decode, plan_for, run_render
    from renderhouse.generators.render.plan_cache import PlanCache
    from renderhouse.generators.render.report import check

    canon = json.loads((ROOT / "examples/render/canon.json").read_text())
    canon["logo"]["image"] = to_data_url(ROOT / "examples/render/logo.png", "logo")
    canon["outputs"] = [{"width": 1024, "height": 1024, "format": "png"}]
    model = ROOT / "tests/assets/BoomBox.glb"
    brief = (ROOT / "examples/render/brief.txt").read_text()
    inp = RenderGenerator().parse_input({"brief": brief, "model": str(model), "canon": canon})

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        cache = PlanCache(Path(tmp) / "plans")
        out = Path(tmp) / "out"
        t0 = time.perf_counter()
        run_render(LocalContext(out), inp, cache)
        print(
            f"cold (first job in this process: GL, lighting, model): "
            f"{time.perf_counter() - t0:.2f} s"
        )
        warm, warm_cpu = [], []
        for _ in range(max(3, args.runs // 4)):
            t0, c0 = time.perf_counter(), time.process_time()
            result = run_render(LocalContext(out), inp, cache)
            warm.append(time.perf_counter() - t0)
            warm_cpu.append(time.process_time() - c0)
        print(f"render + composite + report, 1024², warm:  {ms(warm)}  (target < 1500 ms)")
        print(f"  CPU time of this process (all threads):  {ms(warm_cpu)}")
        print(f"plan cache after {len(warm) + 1} identical jobs: {result['plan_cache']}")

        rgb = decode((out / "render_1024x1024.png").read_bytes())
        logo = trim(load_rgba(inp.canon.logo.image, "logo"))  # type: ignore[attr-defined]
        check(rgb, inp.canon, logo)  # type: ignore[attr-defined]
        alone, alone_cpu = [], []
        for _ in range(args.runs):
            t0, c0 = time.perf_counter(), time.process_time()
            report = check(rgb, inp.canon, logo)  # type: ignore[attr-defined]
            alone.append(time.perf_counter() - t0)
            alone_cpu.append(time.process_time() - c0)
        print(f"report alone, 1024²:                       {ms(alone)}  (target < 200 ms)")
        print(f"  CPU time:                                {ms(alone_cpu)}")
        print(f"  score {report.score}, {len(report.rules)} rules")

        hits = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            plan_for(brief, inp.canon, "0" * 64, cache)  # type: ignore[attr-defined]
            hits.append(time.perf_counter() - t0)
        print(
            f"plan lookup (after the first, all hits: {cache.hits} hits, "
            f"{cache.misses} misses): {ms(hits[1:])}"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
