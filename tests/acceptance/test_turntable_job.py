"""The turntable as a job on real worker processes: artifacts and progress through the
queue, and a SIGKILLed render that resumes where it stopped instead of starting over."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from tests.acceptance.test_crash_recovery import worker_process
from tests.integration.running import wait_until

ASSETS = Path(__file__).resolve().parents[1] / "assets"


def test_turntable_job_resumes_after_sigkill(store: Store, db_url: str, tmp_path: Path) -> None:
    queue = JobQueue(store)
    # Enough frames that the kill lands mid-render: a warm worker renders a 192² frame in
    # tens of milliseconds, and with 24 frames a slow poll could see the render all done.
    frames_total = 96
    spec = {
        "model": str(ASSETS / "BoomBox.glb"),
        "frames": frames_total,
        "size": 192,
        "formats": ["png", "viewer"],
        "background": "#ffffff",
    }
    job = queue.enqueue(NewJob("turntable", spec, max_attempts=3, timeout=300))[0]
    log = tmp_path / "workers.log"
    with worker_process(db_url, tmp_path / "store", log) as first:
        wait_until(lambda: queue.get(job.id).progress_done >= 6, timeout=120, what="6 frames")
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
        killed_at = time.time()
    done_before = set(queue.get(job.id).checkpoint["done"])  # type: ignore[index]
    assert 6 <= len(done_before) < frames_total, "the kill must land mid-render"
    with worker_process(db_url, tmp_path / "store", log):
        wait_until(
            lambda: queue.get(job.id).state == "succeeded", timeout=180, what="the resumed render"
        )
    final = queue.get(job.id)
    assert final.attempt == 2 and final.progress == 1.0
    arts = {a["name"]: a for a in queue.artifacts(job.id)}
    frames = sorted(n for n in arts if n.endswith(".png"))
    assert len(frames) == frames_total
    kept = [n for n in frames if int(n.rsplit("_", 1)[1].split(".")[0]) in done_before]
    assert len(kept) == len(done_before)
    assert all(arts[n]["created_at"] < killed_at for n in kept), "finished frames were re-rendered"
    second = [
        e["data"]["done"]
        for e in queue.events(job.id)
        if e["type"] == "progress"
        and e["ts"] > killed_at
        and e["data"]["message"].startswith("frame")
    ]
    assert second and min(second) == len(done_before) + 1, "attempt 2 starts after the saved frames"
    manifest = json.loads((tmp_path / "store" / arts["manifest.json"]["key"]).read_text())
    assert json.dumps(manifest).count("frames/row0_") >= frames_total
    assert "viewer.html" in arts


def test_turntable_fans_out_over_two_workers_and_merges(
    store: Store, db_url: str, tmp_path: Path
) -> None:
    queue = JobQueue(store)
    spec = {
        "model": str(ASSETS / "WaterBottle.glb"),
        "frames": 12,
        "size": 128,
        "fan_out": 3,
        "formats": ["png", "sprite", "viewer"],
        "background": "#ffffff",
    }
    job = queue.enqueue(NewJob("turntable", spec, timeout=300))[0]
    log = tmp_path / "workers.log"
    with (
        worker_process(db_url, tmp_path / "store", log),
        worker_process(db_url, tmp_path / "store", log),
    ):
        wait_until(
            lambda: queue.get(job.id).state == "succeeded", timeout=240, what="fan-out and merge"
        )
    children = queue.children(job.id)
    assert [c["input"]["frame_range"] for c in children] == [[0, 4], [4, 8], [8, 12]]
    assert {c["state"] for c in children} == {"succeeded"}
    workers = {queue.get(c["id"]).worker_id for c in children}
    arts = {a["name"] for a in queue.artifacts(job.id)}
    assert {f"frames/row0_{i:04d}.png" for i in range(12)} <= arts
    assert {"manifest.json", "viewer.html", "sprites/sprite_row0.webp"} <= arts
    assert queue.get(job.id).result["fan_out"] == 3  # type: ignore[index]
    assert len(workers) >= 1
