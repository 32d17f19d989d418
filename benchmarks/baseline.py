"""Shared helpers for driving the three.js / headless-Chromium baseline ("the peer").

The peer lives read-only in ``shared/peer/threejs-turntable``. It must never be
committed into this repository, and ``npm ci`` cannot run in a read-only tree, so
every benchmark copies it into a writable cache directory first and installs its
``node_modules`` there once (``prepare_peer``).

This module also holds the measurement helpers both benchmark scripts use, so
that the baseline and Renderhouse are measured the same way: a /proc sampler of
a whole process tree's RSS (``TreeSampler``) and ``run_measured``, which times a
child process and samples its tree while it runs.

Run it directly to (re)generate the baseline's frame-0 reference PNGs::

    python benchmarks/baseline.py frames --out /tmp/baseline_frames
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = (REPO_ROOT / "../shared").resolve()
# Not /tmp/renderhouse-*: other tools clean those up (one deleted our copy mid-run).
DEFAULT_PEER_DIR = Path(tempfile.gettempdir()) / "rh-bench-peer"
PEER_NAME = "threejs-turntable"

# The sample models the fidelity comparison uses (Corset_heavy is a timing-only asset).
FIDELITY_MODELS = (
    "DamagedHelmet",
    "WaterBottle",
    "BoomBox",
    "Corset",
    "SunglassesKhronos",
    "AlphaBlendModeTest",
    "Fox",
)


def log(msg: str) -> None:
    """Progress goes to stderr so stdout stays parseable."""
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Peer setup
# ---------------------------------------------------------------------------


def prepare_peer(shared: Path, peer_dir: Path = DEFAULT_PEER_DIR) -> Path:
    """Copy the peer into ``peer_dir`` (if not yet there) and ``npm ci`` it once.

    The copy is cached across runs: ``npm ci`` is slow and needs the registry, so
    it only runs when ``node_modules`` is missing.
    """
    src = shared / "peer" / PEER_NAME
    dst = peer_dir / PEER_NAME
    if not (dst / "turntable.mjs").exists():
        log(f"copying peer {src} -> {dst}")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copytree(src, dst, dirs_exist_ok=True)
        # The shared tree is read-only; the copy must be writable for npm.
        for p in [dst, *dst.rglob("*")]:
            p.chmod(p.stat().st_mode | 0o200)
    if not (dst / "node_modules" / "puppeteer-core").exists():
        log(f"npm ci in {dst}")
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=dst, check=True)
    return dst


def chromium_path() -> str:
    """The browser the peer drives (Debian's chromium unless CHROMIUM_PATH says otherwise)."""
    return os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def turntable_cmd(
    peer: Path,
    model: Path,
    frames: int,
    size: int,
    out_dir: Path,
    *,
    transparent: bool = False,
    fmt: str = "png",
    bg: str | None = None,
    no_mem: bool = True,
) -> list[str]:
    """The peer CLI: ``node turntable.mjs MODEL N WxH FMT on|off OUT [--bg ..] [--no-mem]``.

    ``--no-mem`` is the default because we sample the tree ourselves (identically
    for both sides) and the peer's own 200 ms sampler would add load to its run.
    """
    cmd = [
        "node",
        str(peer / "turntable.mjs"),
        str(model),
        str(frames),
        f"{size}x{size}",
        fmt,
        "on" if transparent else "off",
        str(out_dir),
    ]
    if bg:
        cmd += ["--bg", bg]
    if no_mem:
        cmd.append("--no-mem")
    return cmd


# ---------------------------------------------------------------------------
# Process-tree measurement
# ---------------------------------------------------------------------------


def _scan_proc() -> tuple[dict[int, list[int]], dict[int, int]]:
    """(ppid -> [pid], pid -> utime+stime ticks) for every process in /proc."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat", encoding="utf-8", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        children.setdefault(int(fields[1]), []).append(int(d))
        ticks[int(d)] = int(fields[11]) + int(fields[12])
    return children, ticks


def process_tree(root: int, children: dict[int, list[int]] | None = None) -> list[int]:
    """``root`` and all its descendants (Chromium's zygote, renderer, GPU process...)."""
    if children is None:
        children = _scan_proc()[0]
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def _proc_field(path: str, key: str) -> int:
    """A ``Key:  N kB`` line of a /proc file, in bytes (0 if the process is gone)."""
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _rss_bytes(pid: int) -> int:
    return _proc_field(f"/proc/{pid}/status", "VmRSS:")


def _pss_bytes(pid: int) -> int:
    return _proc_field(f"/proc/{pid}/smaps_rollup", "Pss:")


@dataclass
class TreeSampler:
    """Samples the summed RSS of a process tree every ``interval`` seconds in a thread.

    Summed RSS double-counts shared pages (Chromium's processes share a lot), which
    is also what the peer's own sampler reports as ``peakRssMB``; we use the same
    definition for our side so the ratio is like-for-like. With ``pss=True`` the
    summed PSS (shared pages divided among their sharers, so no double counting)
    is sampled too, but only every ``pss_every``-th sample: reading smaps_rollup
    walks each process's page tables (~10 ms for a Chromium tree, measured), which
    at 50 ms would steal a good part of one of the box's two cores from the run
    being measured. The RSS scan costs ~2-3 ms per sample.
    """

    root: int
    interval: float = 0.05
    pss: bool = False
    pss_every: int = 10
    peak_rss: int = 0
    peak_pss: int = 0
    peak_procs: int = 0
    samples: int = 0
    # Last CPU ticks seen per pid. rusage cannot be used: Puppeteer kills Chromium
    # and its children are reparented to init, so their CPU never reaches our wait4.
    cpu_ticks: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def sample(self) -> None:
        children, ticks = _scan_proc()
        pids = process_tree(self.root, children)
        for p in pids:
            if p in ticks:
                self.cpu_ticks[p] = ticks[p]
        rss = sum(_rss_bytes(p) for p in pids)
        self.samples += 1
        self.peak_rss = max(self.peak_rss, rss)
        if self.pss and (self.samples - 1) % self.pss_every == 0:
            self.peak_pss = max(self.peak_pss, sum(_pss_bytes(p) for p in pids))
        self.peak_procs = max(self.peak_procs, len(pids))

    @property
    def cpu_s(self) -> float:
        """CPU seconds of the tree (a process's last <= ``interval`` before exit is lost)."""
        return sum(self.cpu_ticks.values()) / os.sysconf("SC_CLK_TCK")

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> TreeSampler:
        self.sample()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join()


@dataclass
class RunResult:
    cmd: list[str]
    returncode: int
    wall_s: float
    peak_rss_mb: float
    peak_procs: int
    samples: int
    stdout: str
    stderr: str


def run_measured(cmd: list[str], *, cwd: Path | None = None, interval: float = 0.05) -> RunResult:
    """Run ``cmd`` to completion; wall time from spawn to exit, peak tree RSS meanwhile.

    Wall time includes interpreter start-up and imports on both sides (node +
    puppeteer + Chromium launch for the baseline; python + imports + GL context
    for ours): that is what a user or a job runner pays per invocation.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid, interval).start()
        rc = proc.wait()
        wall = time.perf_counter() - t0
        sampler.stop()
        out.seek(0)
        err.seek(0)
        return RunResult(
            cmd=cmd,
            returncode=rc,
            wall_s=wall,
            peak_rss_mb=sampler.peak_rss / 2**20,
            peak_procs=sampler.peak_procs,
            samples=sampler.samples,
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


# ---------------------------------------------------------------------------
# Frame-0 reference images
# ---------------------------------------------------------------------------


def render_frame0(
    peer: Path,
    model: Path,
    size: int,
    dest: Path,
    *,
    transparent: bool,
    bg: str = "#ffffff",
) -> Path:
    """Render only frame 0 with the peer (1 frame: angle 0, same as frame 0 of 36).

    The page's defaults are the reference camera: elevation 15°, fov 35°, mode
    ``model`` (the model turns, the camera stays).
    """
    with tempfile.TemporaryDirectory(prefix="peer-frame0-") as tmp:
        cmd = turntable_cmd(peer, model, 1, size, Path(tmp), transparent=transparent, bg=bg)
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"baseline failed on {model.name}:\n{res.stderr[-2000:]}")
        stats = json.loads(res.stdout)
        if stats.get("consoleErrors"):
            log(f"  {model.name}: page console: {stats['consoleErrors'][:3]}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(tmp) / "frame_0.png", dest)
    return dest


def baseline_frame_paths(out: Path, model: str, size: int) -> tuple[Path, Path]:
    """(white-background PNG, transparent PNG) paths of a model's reference frame."""
    return out / f"{model}_{size}.png", out / f"{model}_{size}_alpha.png"


def generate_reference_frames(
    shared: Path, peer_dir: Path, out: Path, size: int, models: list[str], force: bool = False
) -> None:
    """Write ``<Model>_<size>.png`` (white bg) and ``<Model>_<size>_alpha.png`` into ``out``."""
    peer = prepare_peer(shared, peer_dir)
    for name in models:
        model = shared / "assets" / f"{name}.glb"
        white, alpha = baseline_frame_paths(out, name, size)
        for dest, transparent in ((white, False), (alpha, True)):
            if dest.exists() and not force:
                continue
            t0 = time.perf_counter()
            render_frame0(peer, model, size, dest, transparent=transparent)
            log(f"  {dest} ({time.perf_counter() - t0:.1f} s)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    fr = sub.add_parser("frames", help="render the baseline's frame 0 of each sample model")
    fr.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    fr.add_argument("--peer-dir", type=Path, default=DEFAULT_PEER_DIR)
    fr.add_argument("--out", type=Path, default=Path("/tmp/baseline_frames"))
    fr.add_argument("--size", type=int, default=512)
    fr.add_argument("--models", default=",".join(FIDELITY_MODELS))
    fr.add_argument("--force", action="store_true", help="re-render existing PNGs")
    sub.add_parser("setup", help="copy the peer and npm ci it").add_argument(
        "--peer-dir", type=Path, default=DEFAULT_PEER_DIR
    )
    args = ap.parse_args(argv)
    if args.cmd == "frames":
        generate_reference_frames(
            args.shared.resolve(),
            args.peer_dir,
            args.out,
            args.size,
            args.models.split(","),
            args.force,
        )
    else:
        print(prepare_peer(DEFAULT_SHARED, args.peer_dir))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
