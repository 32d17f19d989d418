"""Queue throughput and latency, end to end (enqueue → claim → run a no-op → complete).

Renderhouse on PostgreSQL and SQLite, and procrastinate (the nearest Python peer on
PostgreSQL) on the same server with the same workload, alternating sides in one run:

    python benchmarks/queue_throughput.py --jobs 3000 --workers 2 --concurrency 16 --rounds 3

A run: W worker processes start and wait; a single producer enqueues N no-op jobs (one per
transaction, or ``--batch`` per transaction) while the workers drain them. jobs/s is N over
the time from the first enqueue to the last completion (from the database's own records);
enqueue→start latency comes from each job's recorded enqueue and start times. The idle test
enqueues one job at a time into idle workers (the LISTEN/NOTIFY wake-up path).
Commits are durable (PostgreSQL synchronous_commit=on; SQLite WAL with synchronous=FULL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

PG_ADMIN = os.environ.get("RENDERHOUSE_BENCH_PG", "postgresql://root@127.0.0.1:5432/postgres")
_ctx = mp.get_context("spawn")


# -- databases -------------------------------------------------------------------------------
def fresh_pg_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


# -- Renderhouse side ------------------------------------------------------------------------
def ours_worker(url: str, concurrency: int, ready: Any, stop: Any) -> None:
    from renderhouse.generators.base import Registry
    from renderhouse.generators.noop import NoopGenerator
    from renderhouse.queue.queue import JobQueue
    from renderhouse.storage.local import LocalStorage
    from renderhouse.store.database import Store
    from renderhouse.worker.worker import Worker, WorkerConfig

    store = Store(url, pool_size=concurrency + 4)
    queue = JobQueue(store)
    worker = Worker(
        queue,
        Registry([NoopGenerator]),
        LocalStorage(Path(tempfile.mkdtemp())),
        WorkerConfig(
            kinds=["noop"],
            concurrency=concurrency,
            poll_seconds=0.05,
            listen_url=None if store.is_sqlite else store.url,
        ),
        None,  # no maintenance duties: the figure is the claim/complete path alone
    )

    async def main() -> None:
        async def watch() -> None:
            while not stop.is_set():
                await asyncio.sleep(0.02)
            worker.stop()

        task = asyncio.create_task(watch())
        ready.release()
        await worker.run()
        task.cancel()

    asyncio.run(main())


def ours_run(
    url: str, n: int, batch: int, workers: int, concurrency: int, producers: int
) -> dict[str, Any]:
    from sqlalchemy import func, select

    from renderhouse.queue.enqueue import NewJob
    from renderhouse.queue.queue import JobQueue
    from renderhouse.store.database import Store
    from renderhouse.store.schema import jobs

    store = Store(url, pool_size=producers + 2)
    with store.begin() as conn:
        for t in ("job_events", "job_attempts", "artifacts", "jobs", "owner_lanes", "workers"):
            conn.exec_driver_sql(f"DELETE FROM {t}")
    queue = JobQueue(store)
    ready, stop = _ctx.Semaphore(0), _ctx.Event()
    procs = [
        _ctx.Process(target=ours_worker, args=(url, concurrency, ready, stop))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    time.sleep(0.5)  # let the workers reach their first idle wait

    def produce(p: int) -> None:
        for start in range(p * batch, n, batch * producers):
            chunk = [
                NewJob("noop", {}, owner=f"o{i % 4}") for i in range(start, min(n, start + batch))
            ]
            queue.enqueue_many(chunk)

    t0 = time.time()
    threads = [threading.Thread(target=produce, args=(p,)) for p in range(producers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t_enq = time.time() - t0
    while True:
        with store.read() as conn:
            left = conn.execute(
                select(func.count()).where(jobs.c.state.in_(["queued", "running"]))
            ).scalar_one()
        if not left:
            break
        time.sleep(0.01)
    stop.set()
    for p in procs:
        p.join(30)
    with store.read() as conn:
        rows = conn.execute(
            select(jobs.c.created_at, jobs.c.attempted_at, jobs.c.finished_at, jobs.c.state)
        ).all()
    store.dispose()
    assert all(r.state == "succeeded" for r in rows) and len(rows) == n
    end = max(r.finished_at for r in rows)
    lat = [(r.attempted_at - r.created_at) * 1000 for r in rows]
    return {
        "jobs_per_s": n / (end - t0),
        "enqueue_per_s": n / t_enq,
        "p50_ms": pct(lat, 0.5),
        "p99_ms": pct(lat, 0.99),
    }


def ours_idle_latency(url: str, n: int) -> dict[str, Any]:
    from renderhouse.queue.enqueue import NewJob
    from renderhouse.queue.queue import JobQueue
    from renderhouse.store.database import Store

    store = Store(url)
    queue = JobQueue(store)
    ready, stop = _ctx.Semaphore(0), _ctx.Event()
    proc = _ctx.Process(target=ours_worker, args=(url, 4, ready, stop))
    proc.start()
    ready.acquire()
    time.sleep(0.5)
    lat = []
    for _ in range(n):
        job = queue.enqueue(NewJob("noop", {}))[0]
        while (j := queue.get(job.id)).state != "succeeded":
            time.sleep(0.002)
        lat.append((j.attempted_at - j.created_at) * 1000)  # type: ignore[operator]
    stop.set()
    proc.join(30)
    store.dispose()
    return {"p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99)}


# -- procrastinate side ----------------------------------------------------------------------
def make_app(conninfo: str) -> Any:
    import logging

    import procrastinate

    logging.getLogger("procrastinate").setLevel(logging.ERROR)

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=conninfo))

    @app.task(name="noop", queue="bench")
    async def noop() -> None:
        return None

    return app


def proc_worker(conninfo: str, concurrency: int, ready: Any, stop: Any) -> None:
    app = make_app(conninfo)

    async def main() -> None:
        async with app.open_async():
            worker = asyncio.create_task(
                app.run_worker_async(
                    queues=["bench"],
                    concurrency=concurrency,
                    wait=True,
                    install_signal_handlers=False,
                    fetch_job_polling_interval=0.05,
                    delete_jobs="never",
                )
            )
            ready.release()
            while not stop.is_set():
                await asyncio.sleep(0.02)
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)

    asyncio.run(main())


def procrastinate_run(
    conninfo: str, n: int, batch: int, workers: int, concurrency: int, producers: int
) -> dict[str, Any]:
    app = make_app(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE")
    ready, stop = _ctx.Semaphore(0), _ctx.Event()
    procs = [
        _ctx.Process(target=proc_worker, args=(conninfo, concurrency, ready, stop))
        for _ in range(workers)
    ]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    time.sleep(0.5)

    async def produce() -> float:
        async with app.open_async():
            task = app.configure_task("noop")

            async def one(p: int) -> None:
                for start in range(p * batch, n, batch * producers):
                    size = min(n, start + batch) - start
                    if size == 1:
                        await task.defer_async()
                    else:
                        await task.batch_defer_async(*({} for _ in range(size)))

            t = time.time()
            await asyncio.gather(*(one(p) for p in range(producers)))
            return time.time() - t

    t0 = time.time()
    t_enq = asyncio.run(produce())
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while conn.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo','doing')"
        ).fetchone()[0]:  # type: ignore[index]
            time.sleep(0.01)
        rows = conn.execute(
            "SELECT extract(epoch FROM max(at) FILTER (WHERE type='deferred')),"
            " extract(epoch FROM max(at) FILTER (WHERE type='started')),"
            " extract(epoch FROM max(at) FILTER (WHERE type='succeeded'))"
            " FROM procrastinate_events GROUP BY job_id"
        ).fetchall()
    stop.set()
    for p in procs:
        p.join(30)
    assert len(rows) == n, f"procrastinate finished {len(rows)} of {n}"
    end = max(float(r[2]) for r in rows)
    lat = [(float(r[1]) - float(r[0])) * 1000 for r in rows]
    return {
        "jobs_per_s": n / (end - t0),
        "enqueue_per_s": n / t_enq,
        "p50_ms": pct(lat, 0.5),
        "p99_ms": pct(lat, 0.99),
    }


def procrastinate_idle_latency(conninfo: str, n: int) -> dict[str, Any]:
    app = make_app(conninfo)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("TRUNCATE procrastinate_jobs RESTART IDENTITY CASCADE")
    ready, stop = _ctx.Semaphore(0), _ctx.Event()
    proc = _ctx.Process(target=proc_worker, args=(conninfo, 4, ready, stop))
    proc.start()
    ready.acquire()
    time.sleep(0.5)

    async def produce() -> list[int]:
        ids = []
        async with app.open_async():
            for _ in range(n):
                ids.append(await app.configure_task("noop").defer_async())
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    while (
                        conn.execute(
                            "SELECT status FROM procrastinate_jobs WHERE id=%s", (ids[-1],)
                        ).fetchone()[0]
                        != "succeeded"
                    ):  # type: ignore[index]
                        time.sleep(0.002)
        return ids

    asyncio.run(produce())
    with psycopg.connect(conninfo, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT extract(epoch FROM max(at) FILTER (WHERE type='deferred')),"
            " extract(epoch FROM max(at) FILTER (WHERE type='started')) FROM procrastinate_events GROUP BY job_id"
        ).fetchall()
    stop.set()
    proc.join(30)
    lat = [(float(r[1]) - float(r[0])) * 1000 for r in rows]
    return {"p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99)}


# -- SQLite concurrency ----------------------------------------------------------------------
def sqlite_writers(url: str, writers: int, per_writer: int) -> dict[str, Any]:
    """16 threads enqueueing at once: count any "database is locked" reaching a caller."""
    from renderhouse.queue.enqueue import NewJob
    from renderhouse.queue.queue import JobQueue
    from renderhouse.store.database import Store

    store = Store(url, pool_size=writers)
    queue = JobQueue(store)
    errors: list[str] = []
    barrier = threading.Barrier(writers)

    def write(i: int) -> None:
        barrier.wait()
        for _ in range(per_writer):
            try:
                queue.enqueue(NewJob("noop", {}, owner=f"w{i}"))
            except Exception as exc:
                errors.append(repr(exc))

    t = time.time()
    threads = [threading.Thread(target=write, args=(i,)) for i in range(writers)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.time() - t
    store.dispose()
    locked = sum("locked" in e for e in errors)
    return {
        "writers": writers,
        "enqueued_per_s": writers * per_writer / elapsed,
        "errors": len(errors),
        "database_is_locked": locked,
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--jobs", type=int, default=3000)
    ap.add_argument("--batch-size", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--producers", type=int, default=4, help="concurrent enqueuers (API nodes)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle-jobs", type=int, default=200)
    ap.add_argument("--skip-procrastinate", action="store_true")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    from renderhouse.store.database import Store
    from renderhouse.store.migrate import upgrade

    ours_pg = fresh_pg_database("rh_bench_ours")
    upgrade(s := Store(ours_pg))
    s.dispose()
    sqlite_url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(s := Store(sqlite_url))
    s.dispose()
    peer = None
    if not args.skip_procrastinate:
        peer = fresh_pg_database("rh_bench_procrastinate")
        app = make_app(peer)
        with app.open():
            app.schema_manager.apply_schema()

    results: dict[str, list[dict[str, Any]]] = {}
    plan: list[tuple[str, Any]] = []
    for mode, batch in (("unbatched", 1), ("batched", args.batch_size)):
        plan.append(
            (
                f"renderhouse-postgres-{mode}",
                lambda b=batch: ours_run(
                    ours_pg, args.jobs, b, args.workers, args.concurrency, args.producers
                ),
            )
        )
        if peer:
            plan.append(
                (
                    f"procrastinate-postgres-{mode}",
                    lambda b=batch: procrastinate_run(
                        peer, args.jobs, b, args.workers, args.concurrency, args.producers
                    ),
                )
            )
        plan.append(
            (
                f"renderhouse-sqlite-{mode}",
                lambda b=batch: ours_run(
                    sqlite_url, args.jobs, b, args.workers, args.concurrency, args.producers
                ),
            )
        )
    for rnd in range(args.rounds):
        order = plan if rnd % 2 == 0 else list(reversed(plan))  # alternate which side goes first
        for name, fn in order:
            r = fn()
            results.setdefault(name, []).append(r)
            print(
                f"round {rnd + 1} {name:36s} {r['jobs_per_s']:8.0f} jobs/s  enqueue {r['enqueue_per_s']:8.0f}/s"
                f"  start latency p50 {r['p50_ms']:7.1f} ms p99 {r['p99_ms']:8.1f} ms",
                flush=True,
            )

    summary: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count()},
        "args": vars(args) | {"json": None},
    }
    print("\nmedians over rounds:")
    for name, rs in results.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        summary[name] = med
        print(
            f"  {name:36s} {med['jobs_per_s']:8.0f} jobs/s  p50 {med['p50_ms']:7.1f} ms  p99 {med['p99_ms']:8.1f} ms"
        )
    if peer:
        for mode in ("unbatched", "batched"):
            ratio = (
                summary[f"renderhouse-postgres-{mode}"]["jobs_per_s"]
                / summary[f"procrastinate-postgres-{mode}"]["jobs_per_s"]
            )
            summary[f"ratio-{mode}"] = ratio
            print(f"  ratio renderhouse/procrastinate ({mode}): {ratio:.2f}x")

    idle = ours_idle_latency(ours_pg, args.idle_jobs)
    summary["renderhouse-postgres-idle"] = idle
    print(
        f"\nidle enqueue→start, renderhouse PostgreSQL: p50 {idle['p50_ms']:.1f} ms  p99 {idle['p99_ms']:.1f} ms"
    )
    if peer:
        pidle = procrastinate_idle_latency(peer, args.idle_jobs)
        summary["procrastinate-postgres-idle"] = pidle
        print(
            f"idle enqueue→start, procrastinate:         p50 {pidle['p50_ms']:.1f} ms  p99 {pidle['p99_ms']:.1f} ms"
        )
    lock = sqlite_writers(sqlite_url, 16, 100)
    summary["sqlite-16-writers"] = lock
    print(
        f"\nSQLite, 16 concurrent writers: {lock['enqueued_per_s']:.0f} enqueues/s, "
        f"{lock['errors']} errors, {lock['database_is_locked']} 'database is locked'"
    )
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
