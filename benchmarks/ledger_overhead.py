"""What the credits ledger costs at enqueue: paid enqueues (reserve in the same statement
as the job insert: a guarded UPDATE of the balance + one ledger row as CTEs) against the same
enqueues with the ledger off, on PostgreSQL, alternating on/off rounds in one run:

    python benchmarks/ledger_overhead.py --jobs 2000 --threads 1,8 --rounds 4

Each thread enqueues its share one job per transaction as its own owner (the API's shape:
one request, one transaction). Throughput is jobs over wall time per round; the ratio is
median(on) / median(off). Commits are durable (synchronous_commit=on).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg

from renderhouse import ledger
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from renderhouse.store.migrate import upgrade

PG_ADMIN = os.environ.get("RENDERHOUSE_BENCH_PG", "postgresql://root@127.0.0.1:5432/postgres")


def fresh_database(name: str) -> str:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return PG_ADMIN.rsplit("/", 1)[0] + "/" + name


def one_round(store: Store, queue: JobQueue, jobs: int, threads: int, paid: bool) -> float:
    per = jobs // threads

    def producer(t: int) -> None:
        owner = f"bench-{t}"
        for i in range(per):
            nj = NewJob("noop", {"i": i}, owner=owner, cost_estimated=1 if paid else 0)
            with store.begin() as conn:
                if paid:
                    ledger.enqueue_paid(queue, conn, nj)
                else:
                    queue.enqueue(nj, conn)

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(producer, range(threads)))
    return per * threads / (time.perf_counter() - t0)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=2000)
    p.add_argument("--threads", default="1,8")
    p.add_argument("--rounds", type=int, default=4)
    args = p.parse_args()
    url = fresh_database("rh_bench_ledger")
    store = Store(url, pool_size=16)
    upgrade(store)
    queue = ledger.install(JobQueue(store))
    with store.begin() as conn:
        for t in range(64):
            ledger.grant(conn, f"bench-{t}", 10**12, "benchmark funds")
    print(f"nproc={os.cpu_count()} jobs/round={args.jobs} rounds={args.rounds} (PostgreSQL)")
    for threads in (int(x) for x in args.threads.split(",")):
        rates: dict[bool, list[float]] = {True: [], False: []}
        one_round(store, queue, min(200, args.jobs), threads, True)  # warm-up
        for r in range(args.rounds):
            for paid in (r % 2 == 0, r % 2 != 0):  # alternate which side goes first
                rates[paid].append(one_round(store, queue, args.jobs, threads, paid))
        on, off = statistics.median(rates[True]), statistics.median(rates[False])
        print(
            f"threads={threads}: ledger off {off:,.0f} jobs/s, on {on:,.0f} jobs/s, "
            f"ratio {on / off:.2f}  (off {[round(x) for x in rates[False]]}, "
            f"on {[round(x) for x in rates[True]]})"
        )
    store.dispose()


if __name__ == "__main__":
    main()
