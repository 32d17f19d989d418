"""The machine a benchmark ran on, and how busy other processes kept it: the figures in
docs/benchmarks.md are recorded with both, since this box is shared and has 2 cores."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from datetime import UTC, datetime
from typing import Any

from baseline import REPO_ROOT, chromium_path

PYTHON = REPO_ROOT / ".venv" / "bin" / "python"
USER_HZ = os.sysconf("SC_CLK_TCK")


def cpu_busy_ticks() -> int:
    """Busy (non-idle, non-iowait) jiffies of the whole machine since boot."""
    with open("/proc/stat", encoding="ascii") as f:
        vals = [int(v) for v in f.readline().split()[1:9]]
    return sum(vals) - vals[3] - vals[4]


def busy_cores(seconds: float = 1.0) -> float:
    """Average number of busy cores over ``seconds``."""
    a = cpu_busy_ticks()
    time.sleep(seconds)
    return (cpu_busy_ticks() - a) / USER_HZ / seconds


def wait_quiet(max_wait: float, threshold: float = 0.3) -> float:
    """Wait (at most ``max_wait`` s) until other processes use < ``threshold`` cores.

    Other engineers run test suites on the same 2 cores; starting a measurement in
    the middle of one would mostly measure them. Returns the last load seen.
    """
    t0 = time.monotonic()
    load = busy_cores()
    while load > threshold and time.monotonic() - t0 < max_wait:
        time.sleep(2.0)
        load = busy_cores()
    return load


def machine_info() -> dict[str, Any]:
    """What docs/benchmarks.md records about the box."""
    cpu = "?"
    with open("/proc/cpuinfo", encoding="utf-8") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo", encoding="ascii") as f:
        mem_kb = int(f.readline().split()[1])

    def version(cmd: list[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        except OSError:
            return "?"

    gl = version(
        [
            str(PYTHON),
            "-c",
            "import moderngl; c = moderngl.create_standalone_context(backend='egl'); "
            "print(c.info['GL_RENDERER'], '/', c.info['GL_VERSION'])",
        ]
    )
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(mem_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": version(["node", "--version"]),
        "chromium": version([chromium_path(), "--version"]),
        "gl_ours": gl,
    }
