"""The acceptance suite's real worker process, with the ledger's terminal hook installed:
``python -m tests.ledger.paid_worker DB_URL STORAGE_DIR [--lease S] [--concurrency N]``."""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from renderhouse import ledger
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
    p.add_argument("--lease", type=float, default=1.0)
    p.add_argument("--concurrency", type=int, default=2)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s: %(message)s")
    store = Store(args.db_url)
    queue = ledger.install(
        JobQueue(store, lease_seconds=args.lease, policy=RetryPolicy(base=0.05, jitter=0))
    )
    config = WorkerConfig(
        kinds=["test.steps"],
        concurrency=args.concurrency,
        poll_seconds=0.1,
        heartbeat_seconds=args.lease / 4,
        listen_url=None,
    )
    worker = Worker(
        queue,
        test_registry(),
        LocalStorage(args.storage_dir),
        config,
        Maintenance(queue, rescue_every=0.2),
    )
    asyncio.run(worker.run())


if __name__ == "__main__":
    main()
