"""How long ``renderhouse … --help`` takes to start, per command: wall time (median of N runs,
interleaved so load hits every command alike), the modules imported and their summed import
time (``python -X importtime``). ``--against DIR`` also runs a second source tree (e.g. a
``git worktree`` of an older commit) side by side and prints the ratios.

    .venv/bin/python benchmarks/cli_startup.py [--runs 5] [--against /tmp/old-tree]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COMMANDS = [
    [], ["serve"], ["worker"], ["api"], ["db"], ["check"], ["enqueue"], ["jobs", "list"],
    ["queue", "stats"], ["users"], ["keys"], ["credits"], ["budgets"], ["backup"],
    ["restore"], ["cleanup"], ["turntable"],
]  # fmt: skip
RUN = "import sys; from renderhouse.cli import main; sys.argv = ['renderhouse'] + sys.argv[1:]; main()"


def measure(src: Path, args: list[str]) -> tuple[float, int, float]:
    """(wall seconds, modules imported, summed self import time in ms) for one run."""
    env = {**os.environ, "PYTHONPATH": str(src / "src")}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", RUN, *args, "--help"],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - t0
    rows = [line for line in proc.stderr.splitlines() if line.startswith("import time:")]
    self_us = sum(
        int(r.split("|")[0].split(":")[1])
        for r in rows[1:]
        if r.split("|")[0][12:].strip().isdigit()
    )
    if proc.returncode != 0:
        raise SystemExit(f"{args}: exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-2000:]}")
    return wall, len(rows) - 1, self_us / 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--against", type=Path, help="another source tree to compare with")
    opts = parser.parse_args()
    trees = {"this": REPO} | ({"other": opts.against} if opts.against else {})
    results: dict[tuple[str, str], list[tuple[float, int, float]]] = {}
    for _ in range(opts.runs):
        for args in COMMANDS:
            for label, src in trees.items():
                results.setdefault((label, " ".join(args)), []).append(measure(src, args))
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores; {opts.runs} runs")
    head = f"{'renderhouse … --help':24} {'wall s':>7} {'modules':>8} {'import ms':>10}"
    print(head + ("   other wall s  modules  ratio" if opts.against else ""))
    for args in COMMANDS:
        name = " ".join(args) or "(none)"
        mine = results[("this", " ".join(args))]
        wall = statistics.median(r[0] for r in mine)
        line = (
            f"{name:24} {wall:7.2f} {mine[0][1]:8d} {statistics.median(r[2] for r in mine):10.0f}"
        )
        if opts.against:
            other = results[("other", " ".join(args))]
            owall = statistics.median(r[0] for r in other)
            line += f"   {owall:12.2f} {other[0][1]:8d} {owall / wall:6.1f}x"
        print(line)


if __name__ == "__main__":
    main()
