"""``GET /v1/system/metrics``: one JSON snapshot of the machine (CPU, memory, disk of the
data directory), the queue per kind, the workers and their breakers, and throughput over
recent windows, for the dashboard and for people (Prometheus reads ``/metrics``). That is
an admin's view; any other caller gets ``own_snapshot``, its own jobs only."""

from __future__ import annotations

import os
import time
from typing import Any

from renderhouse.queue import control
from renderhouse.runtime import Runtime
from renderhouse.worker.registration import breaker_states, live_workers

WINDOWS = {"5m": 300, "1h": 3600, "24h": 86_400}


def machine(rt: Runtime) -> dict[str, Any]:
    import psutil

    vm = psutil.virtual_memory()
    data_dir = rt.settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    disk = psutil.disk_usage(str(data_dir))
    me = psutil.Process()
    tree = [me, *me.children(recursive=True)]
    rss = 0
    for p in tree:
        try:
            rss += p.memory_info().rss
        except psutil.Error:
            continue
    return {
        "cpu": {
            "percent": psutil.cpu_percent(interval=None),
            "count": psutil.cpu_count(),
            "load_1m": os.getloadavg()[0],
        },
        "memory": {"total": vm.total, "available": vm.available, "percent": vm.percent},
        "disk": {
            "path": str(data_dir.resolve()),
            "total": disk.total,
            "free": disk.free,
            "percent": disk.percent,
        },
        "process": {"rss": rss, "processes": len(tree), "pid": me.pid},
    }


def throughput(rt: Runtime, now: float, owner: str | None = None) -> dict[str, Any]:
    """Jobs finished per outcome and kind in each window, and the failure rate."""
    out: dict[str, Any] = {}
    with rt.store.read() as conn:
        for name, seconds in WINDOWS.items():
            rows = control.finished_counts(conn, now - seconds, owner)
            per_kind: dict[str, dict[str, int]] = {}
            for kind, state, n in rows:
                per_kind.setdefault(kind, {})[state] = int(n)
            done = sum(sum(v.values()) for v in per_kind.values())
            failed = sum(v.get("failed", 0) for v in per_kind.values())
            out[name] = {
                "finished": done,
                "failed": failed,
                "per_minute": round(done / (seconds / 60), 3),
                "failure_rate": round(failed / done, 4) if done else 0.0,
                "kinds": per_kind,
            }
    return out


def series(
    rt: Runtime, now: float, minutes: int = 60, owner: str | None = None
) -> list[dict[str, Any]]:
    """Finished and failed jobs per minute over the last ``minutes`` (the dashboard chart)."""
    start = now - minutes * 60
    buckets = [{"t": start + i * 60, "succeeded": 0, "failed": 0} for i in range(minutes)]
    with rt.store.read() as conn:
        rows = control.finished_times(conn, start, owner)
    for finished_at, state in rows:
        i = min(minutes - 1, int((finished_at - start) // 60))
        buckets[i][state] += 1
    return buckets


def snapshot(rt: Runtime) -> dict[str, Any]:
    now = rt.queue.clock.now()
    stale = max(3 * rt.settings.heartbeat_seconds, rt.settings.lease_seconds)
    workers = live_workers(rt.store, now, stale)
    return {
        "time": time.time(),
        "scope": "cluster",
        **machine(rt),
        "queue": rt.queue.stats(),
        "workers": [
            {
                "id": w["id"],
                "hostname": w["hostname"],
                "kinds": w["kinds"],
                "heartbeat_age": round(now - float(w["heartbeat_at"]), 1),
            }  # type: ignore[arg-type]
            for w in workers
        ],
        "breakers": {
            k: {"state": v["state"], "failures": v["failures"]}
            for k, v in breaker_states(rt.store).items()
        },
        "throughput": throughput(rt, now),
        "series": series(rt, now),
    }


def own_snapshot(rt: Runtime, owner: str) -> dict[str, Any]:
    """What a user key may see: its own jobs' queue, throughput and chart; nothing of the
    machine, the workers or other owners."""
    now = rt.queue.clock.now()
    return {
        "time": time.time(),
        "scope": "own",
        "queue": rt.queue.stats(owner),
        "throughput": throughput(rt, now, owner),
        "series": series(rt, now, owner=owner),
    }
