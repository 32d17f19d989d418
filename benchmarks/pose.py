"""Pose + render in a warm worker process: one pose at 512² per job, and a batch of 8.

Targets (issue 18, this machine): < 300 ms per pose warm, a batch of 8 in < 2 s. The avatar
is examples/avatars/Mannequin.glb (rebuilt if missing) and the same rig exported the way a
Mixamo/Blender user would (A-pose, centimetres, Z up, rolled bones). ``--sheet PNG`` also
renders every library pose on both rigs onto one contact sheet (docs/pose_contact_sheet.png).

    .venv/bin/python benchmarks/pose.py [--reps 10] [--sheet docs/pose_contact_sheet.png]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.pose import PoseGenerator
from renderhouse.generators.pose.mannequin import MannequinOptions, build_mannequin
from renderhouse.generators.pose.pose_format import library

ROOT = Path(__file__).resolve().parents[1]
BATCH = ["stand-relaxed", "sit-chair", "run-stride", "wave-left", "crouch", "clap",
         "fashion-hand-on-hip", "jump-star"]  # fmt: skip


def job(gen: PoseGenerator, out: Path, avatar: Path, poses: list[str], size: int, **kw) -> float:
    inp = gen.parse_input({"avatar": str(avatar), "poses": poses, "size": size, **kw})
    t0 = time.perf_counter()
    outcome = gen.run(LocalContext(out), inp)
    assert outcome.result["delivered"] == len(poses)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--sheet", type=Path)
    args = ap.parse_args()
    print(f"load: {os.getloadavg()}  cpus: {os.cpu_count()}")
    tmp = Path(tempfile.mkdtemp(prefix="pose-bench-"))
    rigs = {
        "mannequin (VRM names, T-pose, m, Y up)": ROOT / "examples/avatars/Mannequin.glb",
        "mixamo-style (A-pose, cm, Z up, rolled)": build_mannequin(
            tmp / "mixamo.glb",
            MannequinOptions(
                naming="mixamo", rest="A", unit_scale=100, z_up=True, roll=40, aim_axes=True
            ),
        ),
    }
    if not rigs["mannequin (VRM names, T-pose, m, Y up)"].exists():
        build_mannequin(rigs["mannequin (VRM names, T-pose, m, Y up)"])
    gen = PoseGenerator()
    for n, (name, avatar) in enumerate(rigs.items()):
        cold = job(gen, tmp / "cold", avatar, ["t-pose"], args.size)
        first = "cold process: GL context, shaders, lighting" if n == 0 else "new avatar, warm"
        singles = [
            job(gen, tmp / f"s{i}", avatar, [BATCH[i % len(BATCH)]], args.size, contact_sheet=False)
            for i in range(args.reps)
        ]
        batches = [job(gen, tmp / f"b{i}", avatar, BATCH, args.size) for i in range(3)]
        print(f"{name}: first job ({first}) {cold * 1000:.0f} ms")
        print(
            f"  one pose {args.size}² warm: median {statistics.median(singles) * 1000:.0f} ms, "
            f"max {max(singles) * 1000:.0f} ms  (target < 300 ms)"
        )
        print(
            f"  batch of 8 {args.size}² + contact sheet: median {statistics.median(batches):.2f} s,"
            f" max {max(batches):.2f} s  (target < 2 s)"
        )
    print(f"load after: {os.getloadavg()}")
    if args.sheet:
        from renderhouse.generators.pose.contact_sheet import contact_sheet

        tiles = []
        names = list(library())
        outs = {}
        for name, avatar in rigs.items():
            out = tmp / f"sheet-{len(outs)}"
            for k in range(0, len(names), 16):
                job(gen, out, avatar, names[k : k + 16], 192, contact_sheet=False, aa="fast")
            outs[name] = out
        for i, pose in enumerate(names):
            for r, out in enumerate(outs.values()):
                k = i % 16
                png = next((out / "poses").glob(f"{k:02d}-{pose}.png"))
                tiles.append((f"{pose} ({'AB'[r]})", png.read_bytes()))
        args.sheet.write_bytes(contact_sheet(tiles, tile=128, columns=14))
        a, b = list(rigs)
        print(f"contact sheet: {args.sheet} (A = {a}, B = {b})")


if __name__ == "__main__":
    main()
