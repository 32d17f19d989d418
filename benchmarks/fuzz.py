"""Fuzz every parser of untrusted bytes on demand, many more cases than CI runs:

    .venv/bin/python benchmarks/fuzz.py                      # 10,000 cases per parser
    .venv/bin/python benchmarks/fuzz.py --cases 500 --parsers glb,zip

Each parser (``tests/fuzz/targets.py``: glb, gltf-json, zip, image, and whatever else has
registered, e.g. pdf) runs in a child process of its own under an address-space cap, so a
memory blow-up is a counted ``MemoryError``, not a dead machine, and its peak RSS is its own.
A case is a crash if anything but a refusal with a 4xx code and a sentence escapes, and a
hang if it takes longer than ``--hang`` seconds (SIGALRM interrupts it). Crashing inputs are
written to ``--out`` so they can become regression cases in ``tests/fuzz/test_regressions``.
Needs nothing outside the repository.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


class Hang(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang()


def child(name: str, cases: int, hang: float, out: Path, memory_mb: int) -> dict:
    """Run ``cases`` generated inputs through parser ``name``; report what happened."""
    import warnings

    from hypothesis import HealthCheck, Phase, given, settings
    from tests.fuzz.targets import PARSERS

    resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))
    warnings.simplefilter("error")  # as the test suite runs: a warning is a failure
    parser = PARSERS[name]
    outcomes: collections.Counter[str] = collections.Counter()
    crashes: list[dict] = []
    durations: list[float] = []
    slowest: list[bytes] = [b""]
    signal.signal(signal.SIGALRM, _alarm)

    @settings(
        max_examples=cases,
        phases=[Phase.generate],
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(parser.inputs)
    def one(data: bytes) -> None:
        t0 = time.perf_counter()
        signal.setitimer(signal.ITIMER_REAL, hang)
        try:
            outcomes[parser.run(data)] += 1
        except Hang:
            outcomes["HANG"] += 1
            crashes.append(_save(out, name, data, "hang"))
        except BaseException as exc:
            outcomes["CRASH"] += 1
            crashes.append(_save(out, name, data, "".join(traceback.format_exception(exc))))
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            durations.append(time.perf_counter() - t0)
            if durations[-1] >= max(durations):
                slowest[0] = data

    try:  # imports (the API app behind filetypes takes seconds) are not a case's time
        parser.run(b"")
    except Exception:
        pass
    t0 = time.perf_counter()
    one()
    wall = time.perf_counter() - t0
    return {
        "parser": name,
        "cases": sum(outcomes.values()),
        "crashes": outcomes["CRASH"],
        "hangs": outcomes["HANG"],
        "accepted": outcomes["accepted"],
        "refusal_codes": len([k for k in outcomes if k not in ("accepted", "CRASH", "HANG")]),
        "top_codes": outcomes.most_common(6),
        "wall_s": round(wall, 1),
        "case_ms_p50": round(statistics.median(durations) * 1000, 1),
        "case_ms_p99": round(
            statistics.quantiles(durations, n=100, method="inclusive")[98] * 1000, 1
        ),
        "slowest_case_s": round(max(durations), 3),
        "slowest_file": _save(out, f"slowest-{name}", slowest[0], "slowest")["file"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "crash_files": [c["file"] for c in crashes[:20]],
        "first_crash": crashes[0]["why"][-1500:] if crashes else None,
    }


def _save(out: Path, name: str, data: bytes, why: str) -> dict:
    import hashlib

    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}-{hashlib.sha256(data).hexdigest()[:16]}.bin"
    path.write_bytes(data)
    path.with_suffix(".txt").write_text(why)
    return {"file": str(path), "why": why}


def main() -> None:
    from tests.fuzz.targets import PARSERS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--cases", type=int, default=10_000, help="cases per parser")
    ap.add_argument("--parsers", default=",".join(PARSERS), help="comma-separated names")
    ap.add_argument("--hang", type=float, default=10.0, help="seconds before a case is a hang")
    ap.add_argument("--memory-mb", type=int, default=3072, help="address-space cap per parser")
    ap.add_argument("--out", type=Path, default=Path("/tmp/renderhouse-fuzz"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        report = child(args.child, args.cases, args.hang, args.out, args.memory_mb)
        print(json.dumps(report))
        return
    print(f"load: {os.getloadavg()}  cores: {os.cpu_count()}", flush=True)
    for name in args.parsers.split(","):
        cmd = [sys.executable, __file__, "--child", name, "--cases", str(args.cases)]
        cmd += [
            "--hang",
            str(args.hang),
            "--out",
            str(args.out),
            "--memory-mb",
            str(args.memory_mb),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
        if proc.returncode != 0:
            print(f"{name}: child failed ({proc.returncode})\n{proc.stderr[-3000:]}", flush=True)
            continue
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        print(json.dumps(report, indent=1), flush=True)
    print(f"load: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
