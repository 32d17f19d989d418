"""Speed and memory: Renderhouse ``turntable`` vs the three.js / headless-Chromium baseline.

Two modes:

``process`` (default)
    One fresh process per render, as a user or a one-shot job runner pays it:
    ``node turntable.mjs MODEL 36 WxH png off OUT`` vs
    ``renderhouse turntable MODEL -o OUT --frames 36 --size W --format png``,
    on DamagedHelmet 512², DamagedHelmet 1024² and Corset_heavy 1024². Wall time is
    spawn → exit; memory is the peak summed RSS (and PSS) of the whole process tree
    (node + every Chromium process for the baseline; python and any children for
    ours), sampled from /proc every 50 ms by the same code for both sides.

``service``
    A warm worker doing successive jobs. Ours: one long-lived Python process that
    imports ``TurntableGenerator`` once and runs jobs through ``LocalContext``; its
    first job is a warm-up and is not counted. Baseline: ``service-sim.mjs ...
    --browser shared --concurrency 1`` (one browser for all jobs, one job at a time,
    like our worker); its first job in each browser is also reported separately
    as a warm-up. Per-job latency = job start → all frames written.

The machine is small (2 cores) and shared with other engineers' test runs, so:
the two sides run alternately in ABBA order (baseline first on even pairs, ours
first on odd ones) so slow drifts hit both equally; each run waits (bounded) for
the box to be quiet; the CPU time that *other* processes used during each run is
recorded; and only medians are reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import (
    DEFAULT_PEER_DIR,
    DEFAULT_SHARED,
    REPO_ROOT,
    TreeSampler,
    log,
    prepare_peer,
    turntable_cmd,
)
from machine import USER_HZ, cpu_busy_ticks, machine_info, wait_quiet

RENDERHOUSE = REPO_ROOT / ".venv" / "bin" / "renderhouse"
PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
PROCESS_CONFIGS = (("DamagedHelmet", 512), ("DamagedHelmet", 1024), ("Corset_heavy", 1024))


# ---------------------------------------------------------------------------
# One measured process
# ---------------------------------------------------------------------------


@dataclass
class Run:
    side: str
    config: str
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    peak_pss_mb: float
    peak_procs: int
    others_cores: float
    frames_written: int
    ok: bool
    note: str = ""


def measure(cmd: list[str], *, side: str, config: str, out_dir: Path, cwd: Path | None) -> Run:
    """Run ``cmd`` once: wall time spawn → exit, tree RSS/PSS peaks, CPU of its tree.

    CPU is the tree's utime+stime as last sampled from /proc (plus the root's own
    rusage, whichever is larger), so ``others_cores`` = (machine busy time - tree
    CPU) / wall tells how much the rest of the box interfered with this run.
    """
    busy0 = cpu_busy_ticks()
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err)
        sampler = TreeSampler(proc.pid, 0.05, pss=True).start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        sampler.stop()
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    busy = (cpu_busy_ticks() - busy0) / USER_HZ
    cpu = max(sampler.cpu_s, usage.ru_utime + usage.ru_stime)
    frames = sum(1 for p in out_dir.rglob("*") if p.suffix == ".png") if out_dir.exists() else 0
    run = Run(
        side=side,
        config=config,
        wall_s=wall,
        cpu_s=cpu,
        peak_rss_mb=sampler.peak_rss / 2**20,
        peak_pss_mb=sampler.peak_pss / 2**20,
        peak_procs=sampler.peak_procs,
        others_cores=max(0.0, (busy - cpu) / wall),
        frames_written=frames,
        ok=proc.returncode == 0,
        note="" if proc.returncode == 0 else stderr[-1500:],
    )
    log(
        f"  {side:8s} {config:22s} wall {wall:6.2f} s  cpu {cpu:6.2f} s  "
        f"RSS {run.peak_rss_mb:6.0f} MB  PSS {run.peak_pss_mb:6.0f} MB  "
        f"procs {run.peak_procs:2d}  frames {frames}  others {run.others_cores:.2f} cores"
        + ("" if run.ok else f"  FAILED: {stderr[-300:]}")
    )
    return run


def ours_process_cmd(model: Path, frames: int, size: int, out: Path, extra: list[str]) -> list[str]:
    """The documented one-shot CLI invocation."""
    return [
        str(RENDERHOUSE),
        "turntable",
        str(model),
        "-o",
        str(out),
        "--frames",
        str(frames),
        "--size",
        str(size),
        "--format",
        "png",
        *extra,
    ]


# ---------------------------------------------------------------------------
# Summaries
# ---------------------------------------------------------------------------


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def summarise(runs: list[Run]) -> dict[str, Any]:
    ok = [r for r in runs if r.ok]
    return {
        "n": len(ok),
        "failed": len(runs) - len(ok),
        "median_wall_s": median([r.wall_s for r in ok]),
        "min_wall_s": min((r.wall_s for r in ok), default=float("nan")),
        "median_cpu_s": median([r.cpu_s for r in ok]),
        "median_peak_rss_mb": median([r.peak_rss_mb for r in ok]),
        "median_peak_pss_mb": median([r.peak_pss_mb for r in ok]),
        "median_others_cores": median([r.others_cores for r in ok]),
    }


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


# ---------------------------------------------------------------------------
# Mode: process
# ---------------------------------------------------------------------------


OUT_MARK = Path("{OUT}")


def measure_with_retry(
    cmd: list[str], side: str, config: str, cwd: Path | None, args: argparse.Namespace
) -> Run:
    """``measure`` in a fresh output directory, retried if the process fails.

    The tree is shared with engineers who edit the code while we measure, so a
    run can fail on a half-written module; such a failure says nothing about
    speed, so it is retried (up to ``--retries`` times, after a pause) and
    only the last attempt is kept (failed ones are logged, never in a median).
    """
    for attempt in range(args.retries + 1):
        wait_quiet(args.quiet_wait)
        with tempfile.TemporaryDirectory(prefix=f"tt-{side}-") as tmp:
            out = Path(tmp) / "out"
            real = [str(out) if c == str(OUT_MARK) else c for c in cmd]
            run = measure(real, side=side, config=config, out_dir=out, cwd=cwd)
        if run.ok and run.frames_written == args.frames:
            return run
        if run.ok:
            run.ok, run.note = False, f"wrote {run.frames_written} frames, not {args.frames}"
        if attempt < args.retries:
            log(f"  retrying {side} in 15 s")
            time.sleep(15)
    return run


def run_process_mode(args: argparse.Namespace, peer: Path, shared: Path) -> dict[str, Any]:
    """Fresh process per render, ABBA-alternated, for each configuration."""
    configs = [(m, s) for m, s in PROCESS_CONFIGS if not args.configs or m in args.configs]
    sides = ["baseline", "ours"]
    if args.baseline_only or args.ours_only:
        sides = ["baseline"] if args.baseline_only else ["ours"]
    extra = args.ours_args.split()
    results: dict[str, Any] = {}
    for model_name, size in configs:
        config = f"{model_name} {size}x{size}"
        model = shared / "assets" / f"{model_name}.glb"
        log(f"== {config}, {args.frames} frames, {args.pairs} pairs")
        runs: dict[str, list[Run]] = {s: [] for s in sides}
        for pair in range(args.pairs):
            order = sides if pair % 2 == 0 else sides[::-1]
            for side in order:
                if side == "baseline":
                    peer = prepare_peer(shared, args.peer_dir)  # re-copied if /tmp was cleaned
                    cmd, cwd = turntable_cmd(peer, model, args.frames, size, OUT_MARK), peer
                else:
                    cmd, cwd = ours_process_cmd(model, args.frames, size, OUT_MARK, extra), None
                runs[side].append(measure_with_retry(cmd, side, config, cwd, args))
        entry: dict[str, Any] = {s: summarise(runs[s]) for s in sides}
        entry["runs"] = [asdict(r) for s in sides for r in runs[s]]
        if len(sides) == 2:
            b, o = entry["baseline"], entry["ours"]
            entry["ratios"] = {
                "wall": ratio(b["median_wall_s"], o["median_wall_s"]),
                "cpu": ratio(b["median_cpu_s"], o["median_cpu_s"]),
                "peak_rss": ratio(b["median_peak_rss_mb"], o["median_peak_rss_mb"]),
                "peak_pss": ratio(b["median_peak_pss_mb"], o["median_peak_pss_mb"]),
            }
        results[config] = entry
    return results


def print_process(results: dict[str, Any]) -> None:
    print("\n| config | side | wall s (median / min) | CPU s | peak RSS MB | peak PSS MB |", end="")
    print(" others cores |\n|---|---|---:|---:|---:|---:|---:|")
    for config, e in results.items():
        for side in ("baseline", "ours"):
            if side not in e:
                continue
            s = e[side]
            print(
                f"| {config} | {side} | {s['median_wall_s']:.2f} / {s['min_wall_s']:.2f} | "
                f"{s['median_cpu_s']:.2f} | {s['median_peak_rss_mb']:.0f} | "
                f"{s['median_peak_pss_mb']:.0f} | {s['median_others_cores']:.2f} |"
            )
    if any("ratios" in e for e in results.values()):
        print("\n| config | wall x (target >= 5) | CPU x | RSS x (target >= 3) | PSS x |")
        print("|---|---:|---:|---:|---:|")
        for config, e in results.items():
            if "ratios" in e:
                r = e["ratios"]
                print(
                    f"| {config} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['peak_rss']:.1f} | "
                    f"{r['peak_pss']:.1f} |"
                )


# ---------------------------------------------------------------------------
# Mode: service
# ---------------------------------------------------------------------------

WORKER_CODE = r"""
# Warm Renderhouse worker for the service benchmark: one process, one generator
# instance, jobs read as JSON lines from stdin, one JSON line of timings per job.
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from renderhouse.generators.turntable import TurntableGenerator
from renderhouse.generators.local_context import LocalContext
gen = TurntableGenerator()
print(json.dumps({"ready": True, "import_s": time.perf_counter() - t0}), flush=True)
for line in sys.stdin:
    job = json.loads(line)
    out = Path(job.pop("out"))
    t = time.perf_counter()
    inp = gen.parse_input(job)
    gen.run(LocalContext(out), inp)
    latency = time.perf_counter() - t
    n = sum(1 for p in out.rglob("*.png"))
    print(json.dumps({"latency_s": latency, "frames_written": n}), flush=True)
"""


class OursWorker:
    """The long-lived Python worker process, with its tree sampled for memory."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [str(PYTHON), "-c", WORKER_CODE],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.sampler = TreeSampler(self.proc.pid, 0.05, pss=True).start()
        hello = json.loads(self._readline())
        log(f"  ours worker ready (imports {hello['import_s']:.2f} s)")

    def _readline(self) -> str:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("ours worker died")
        return line

    def job(self, job_input: dict[str, Any], out: Path) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({**job_input, "out": str(out)}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self._readline())

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self.sampler.stop()


def job_input(model: Path, frames: int, size: int, extra: dict[str, Any]) -> dict[str, Any]:
    """The turntable generator's job input for one spin (``TurntableInput``).

    Everything else stays at the generator's defaults, as with the CLI command of
    process mode (transparent background, studio lighting, elevation 15, fov 35).
    """
    return {"model": str(model), "frames": frames, "size": size, "formats": ["png"], **extra}


def baseline_service_block(
    peer: Path, model: Path, frames: int, size: int, jobs: int
) -> tuple[list[float], float, float, float]:
    """One service-sim run (shared browser, one job at a time).

    Returns (per-job latencies in s, peak tree RSS MB, peak tree PSS MB, tree CPU s
    of the whole run, browser launch and node start-up included). Browser
    launch happens before the job clock starts, as in a long-running service.
    """
    with tempfile.TemporaryDirectory(prefix="tt-svc-") as tmp:
        cmd = [
            "node",
            str(peer / "service-sim.mjs"),
            str(model),
            str(frames),
            f"{size}x{size}",
            "png",
            "off",
            str(jobs),
            "--browser",
            "shared",
            "--concurrency",
            "1",
            "--out",
            tmp,
        ]
        proc = subprocess.Popen(cmd, cwd=peer, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        sampler = TreeSampler(proc.pid, 0.05, pss=True).start()
        stdout, _ = proc.communicate()
        sampler.stop()
        if proc.returncode != 0:
            raise RuntimeError(f"service-sim failed ({proc.returncode})")
        data = json.loads(stdout)
    lat = [r["latencyMs"] / 1000 for r in sorted(data["results"], key=lambda r: r["job"])]
    if data["failedJobs"]:
        log(f"  baseline: {data['failedJobs']} failed jobs")
    return lat, sampler.peak_rss / 2**20, sampler.peak_pss / 2**20, sampler.cpu_s


def run_service_mode(args: argparse.Namespace, peer: Path, shared: Path) -> dict[str, Any]:
    """Alternate blocks of ``--jobs`` jobs on each side, ``--pairs`` times."""
    model = shared / "assets" / f"{args.service_model}.glb"
    size, frames = args.service_size, args.frames
    extra = json.loads(args.job_extra)
    base_warm, base_first, base_rss, base_pss, base_cpu, ours_cpu = [], [], [], [], [], []
    ours_lat: list[float] = []
    worker = None if args.baseline_only else OursWorker()
    tmp_root = Path(tempfile.mkdtemp(prefix="tt-svc-ours-"))
    try:
        if worker:
            w = worker.job(job_input(model, frames, size, extra), tmp_root / "warmup")
            log(f"  ours warm-up job {w['latency_s']:.2f} s ({w['frames_written']} frames)")
        for pair in range(args.pairs):
            order = ["baseline", "ours"] if pair % 2 == 0 else ["ours", "baseline"]
            for side in order:
                if side == "ours" and worker is None:
                    continue
                wait_quiet(args.quiet_wait)
                if side == "baseline":
                    peer = prepare_peer(shared, args.peer_dir)  # re-copied if /tmp was cleaned
                    lat, rss, pss, cpu = baseline_service_block(
                        peer, model, frames, size, args.jobs
                    )
                    base_cpu.append(cpu / args.jobs)
                    base_first.append(lat[0])
                    base_warm.extend(lat[1:])
                    base_rss.append(rss)
                    base_pss.append(pss)
                    jobs_txt = ", ".join(f"{x:.2f}" for x in lat)
                    log(f"  baseline jobs: {jobs_txt} s; RSS {rss:.0f} MB")
                else:
                    lats = []
                    worker.sampler.sample()
                    cpu0 = worker.sampler.cpu_s
                    for j in range(args.jobs):
                        out = tmp_root / f"p{pair}j{j}"
                        r = worker.job(job_input(model, frames, size, extra), out)
                        if r["frames_written"] != frames:
                            log(f"  ours job wrote {r['frames_written']} frames, not {frames}")
                        lats.append(r["latency_s"])
                        shutil.rmtree(out, ignore_errors=True)
                    ours_lat.extend(lats)
                    worker.sampler.sample()
                    ours_cpu.append((worker.sampler.cpu_s - cpu0) / args.jobs)
                    log(f"  ours jobs:     {', '.join(f'{x:.2f}' for x in lats)} s")
    finally:
        if worker:
            worker.close()
        shutil.rmtree(tmp_root, ignore_errors=True)
    res: dict[str, Any] = {
        "config": f"{args.service_model} {size}x{size} x {frames} frames",
        "baseline": {
            "median_job_s": median(base_warm),
            "median_first_job_s": median(base_first),
            "median_all_jobs_s": median(base_first + base_warm),
            "median_peak_rss_mb": median(base_rss),
            "median_peak_pss_mb": median(base_pss),
            "median_cpu_per_job_s": median(base_cpu),
            "jobs": base_warm,
            "first_jobs": base_first,
        },
    }
    if worker:
        res["ours"] = {
            "median_job_s": median(ours_lat),
            "peak_rss_mb": worker.sampler.peak_rss / 2**20,
            "peak_pss_mb": worker.sampler.peak_pss / 2**20,
            "median_cpu_per_job_s": median(ours_cpu),
            "jobs": ours_lat,
        }
        res["ratios"] = {
            "job_latency": ratio(res["baseline"]["median_job_s"], res["ours"]["median_job_s"]),
            "cpu_per_job": ratio(
                res["baseline"]["median_cpu_per_job_s"], res["ours"]["median_cpu_per_job_s"]
            ),
            "peak_rss": ratio(res["baseline"]["median_peak_rss_mb"], res["ours"]["peak_rss_mb"]),
            "peak_pss": ratio(res["baseline"]["median_peak_pss_mb"], res["ours"]["peak_pss_mb"]),
        }
    return res


def print_service(res: dict[str, Any]) -> None:
    b = res["baseline"]
    print(f"\nservice, {res['config']}, warm per-job latency (median):")
    print(
        f"  baseline (service-sim, shared browser, K=1): {b['median_job_s']:.2f} s "
        f"(first job in a fresh browser {b['median_first_job_s']:.2f} s), "
        f"peak RSS {b['median_peak_rss_mb']:.0f} MB, PSS {b['median_peak_pss_mb']:.0f} MB, "
        f"CPU/job {b['median_cpu_per_job_s']:.1f} s (incl. launch share)"
    )
    if "ours" in res:
        o, r = res["ours"], res["ratios"]
        print(
            f"  ours (warm Python worker): {o['median_job_s']:.2f} s, "
            f"peak RSS {o['peak_rss_mb']:.0f} MB, PSS {o['peak_pss_mb']:.0f} MB, "
            f"CPU/job {o['median_cpu_per_job_s']:.1f} s"
        )
        print(
            f"  ratio baseline/ours: latency {r['job_latency']:.1f}x (target >= 10), "
            f"CPU/job {r['cpu_per_job']:.1f}x, "
            f"RSS {r['peak_rss']:.1f}x, PSS {r['peak_pss']:.1f}x"
        )


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("mode", nargs="?", choices=("process", "service"), default="process")
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared/ folder")
    ap.add_argument("--peer-dir", type=Path, default=DEFAULT_PEER_DIR)
    ap.add_argument("--pairs", type=int, default=3, help="alternated baseline/ours pairs")
    ap.add_argument("--frames", type=int, default=36)
    ap.add_argument(
        "--configs", nargs="*", help="process mode: only these models (DamagedHelmet, Corset_heavy)"
    )
    ap.add_argument("--ours-args", default="", help="extra `renderhouse turntable` arguments")
    ap.add_argument("--baseline-only", action="store_true", help="measure the baseline alone")
    ap.add_argument("--ours-only", action="store_true", help="process mode: measure ours alone")
    ap.add_argument("--retries", type=int, default=2, help="re-runs of a failed run")
    ap.add_argument("--jobs", type=int, default=4, help="service mode: jobs per block")
    ap.add_argument("--service-model", default="DamagedHelmet")
    ap.add_argument("--service-size", type=int, default=512)
    ap.add_argument(
        "--job-extra", default="{}", help="service mode: extra generator input fields (JSON)"
    )
    ap.add_argument(
        "--quiet-wait", type=float, default=20.0, help="max s to wait for a quiet box per run"
    )
    ap.add_argument("--json", type=Path, help="write the JSON summary here")
    args = ap.parse_args(argv)

    shared = args.shared.resolve()
    peer = prepare_peer(shared, args.peer_dir)
    summary: dict[str, Any] = {"machine": machine_info(), "mode": args.mode, "argv": sys.argv}
    log(json.dumps(summary["machine"]))
    if args.mode == "process":
        summary["results"] = run_process_mode(args, peer, shared)
        print_process(summary["results"])
    else:
        summary["results"] = run_service_mode(args, peer, shared)
        print_service(summary["results"])
    summary["bench_rusage_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary, indent=2, default=str))
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
