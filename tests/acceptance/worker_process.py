"""A real worker process with the platform's test generators registered, for crash tests:
``python -m tests.acceptance.worker_process DB_URL STORAGE_DIR [--lease S] [--poll S]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from renderhouse.queue.queue import JobQueue
from renderhouse.queue.retry import RetryPolicy
from renderhouse.storage.local import LocalStorage
from renderhouse.store.database import Store
from renderhouse.worker.maintenance import Maintenance
from renderhouse.worker.worker import Worker, WorkerConfig
from tests.integration.running import test_registry


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("db_url")
    p.add_argument("storage_dir", type=Path)
    p.add_argument("--lease", type=float, default=2.0)
    p.add_argument("--poll", type=float, default=0.2)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--kinds", default="")
    p.add_argument("--ledger", action="store_true", help="install the credits ledger's hook")
    p.add_argument("--no-listen", action="store_true", help="poll only, even on PostgreSQL")
    p.add_argument("--log-level", default="INFO")
    args = p.parse_args()
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    store = Store(args.db_url)
    queue = JobQueue(store, lease_seconds=args.lease, policy=RetryPolicy(base=0.05, jitter=0))
    if args.ledger:
        from renderhouse import ledger

        queue = ledger.install(queue)
    registry = test_registry()
    config = WorkerConfig(
        kinds=[k for k in args.kinds.split(",") if k],
        concurrency=args.concurrency,
        poll_seconds=args.poll,
        heartbeat_seconds=args.lease / 4,
        listen_url=None if store.is_sqlite or args.no_listen else store.url,
    )
    worker = Worker(
        queue,
        registry,
        LocalStorage(args.storage_dir),
        config,
        Maintenance(queue, rescue_every=0.2),
    )
    asyncio.run(worker.run())


if __name__ == "__main__":
    main()
