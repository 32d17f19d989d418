"""The composition root: the one place that shows how a deployment is wired. Built from the
settings once, at the edge (CLI, server, tests), it builds the store, queue, storage and
generator registry, and from them the HTTP app (``api_app``), a worker (``worker``) and the
maintenance duties (``maintenance``), handing each only what it uses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from renderhouse import ledger
from renderhouse.generators.base import Registry
from renderhouse.queue import broadcast, events
from renderhouse.queue.queue import JobQueue
from renderhouse.queue.retry import RetryPolicy
from renderhouse.settings import Settings
from renderhouse.storage import open_storage
from renderhouse.storage.base import Storage
from renderhouse.store.database import Store
from renderhouse.store.migrate import current_revision, ensure_current, upgrade

if TYPE_CHECKING:
    from fastapi import FastAPI

    from renderhouse.models.gateway import Gateway
    from renderhouse.worker.maintenance import Maintenance
    from renderhouse.worker.worker import Worker


@dataclass
class Runtime:
    settings: Settings
    create_secret: bool = True
    """Without a configured secret key, make one in the data directory if none is there
    (``ops.secret_key``); ``renderhouse api`` and ``worker`` refuse instead."""

    def __post_init__(self) -> None:
        from renderhouse.ops import secret_key

        self.settings = secret_key.resolve(self.settings, create=self.create_secret)

    @cached_property
    def store(self) -> Store:
        """With Redis configured, every committed event write is announced on it."""
        store = Store(self.settings.resolved_database_url)
        if self.settings.redis_url:
            events.publish_with(store.engine, self.publisher)
        return store

    @cached_property
    def publisher(self) -> broadcast.Publisher | None:
        return broadcast.Publisher(self.settings.redis_url) if self.settings.redis_url else None

    @cached_property
    def queue(self) -> JobQueue:
        """The queue with the platform's subscribers: the ledger (money moves in the same
        transaction as the job) and the metrics (counted once that transaction commits)."""
        from renderhouse import metrics

        queue = ledger.install(
            JobQueue(
                self.store,
                policy=RetryPolicy(),
                lease_seconds=self.settings.lease_seconds,
                max_queue_size=self.settings.max_queue_size,
            )
        )
        metrics.instrument_queue(queue)
        from renderhouse import webhooks

        # A job's webhook notice is enqueued in the transaction that ends it, wherever it ends.
        webhooks.install(self, queue)
        from renderhouse.duties import calendar_sync

        calendar_sync.install(self)  # the sync duty reads connections and jobs from here
        return queue

    @cached_property
    def storage(self) -> Storage:
        return open_storage(self.settings.resolved_storage_url, self.settings.secret_key)

    @cached_property
    def registry(self) -> Registry:
        return Registry.from_entry_points()

    def api_app(self, *, expect_workers: bool = False) -> FastAPI:
        """The HTTP API on this runtime (shared, not closed by the app). ``expect_workers``:
        a worker runs in this process tree, so readiness also requires a live worker."""
        from renderhouse.api import create_app

        return create_app(self.settings, self, expect_workers=expect_workers)

    def maintenance(self) -> Maintenance:
        """The duties every deployment needs somewhere, each safe on many machines at once:
        rescuer, pruner (with the artifacts of pruned jobs), scheduled backups, alert rules,
        and the expiry of budget and chat holds left by killed paid calls."""
        from renderhouse.ledger import hold_expiry
        from renderhouse.models import hold_expiry as chat_hold_expiry
        from renderhouse.ops import alert_watch
        from renderhouse.ops.backup import backup_schedule
        from renderhouse.worker.maintenance import Maintenance

        s = self.settings
        return Maintenance(
            self.queue,
            rescue_every=s.rescue_seconds,
            retention_seconds=s.retention_days * 86_400.0,
            on_artifact_pruned=lambda a: self.storage.delete(a["key"]),
            periodic=backup_schedule(s),
            extra=[
                alert_watch.duty(self),
                hold_expiry.duty(self.store, s.budget_hold_seconds),
                chat_hold_expiry.duty(self.store, s.budget_hold_seconds),
            ],
        )

    def worker(self, kinds: list[str], concurrency: int, *, maintenance: bool) -> Worker:
        """A worker for ``kinds`` (empty: every installed kind), with the maintenance duties
        or none (another process runs them), metering generators' paid calls (``ctx.spend``)
        against the ledger's budgets and giving them the model registry (``ctx.llm``)."""
        from renderhouse.ledger.metering import meter_for
        from renderhouse.models.job_completions import JobCompletions
        from renderhouse.worker.worker import Worker, WorkerConfig

        s = self.settings
        config = WorkerConfig(
            kinds=kinds,
            concurrency=concurrency,
            poll_seconds=s.poll_seconds,
            heartbeat_seconds=s.heartbeat_seconds,
            shutdown_grace_seconds=s.shutdown_grace_seconds,
            breaker_failures=s.breaker_failures,
            breaker_cooldown_seconds=s.breaker_cooldown_seconds,
            owner_failures=s.owner_failures,
            owner_window_seconds=s.owner_failure_window_seconds,
            owner_cooldown_seconds=s.owner_cooldown_seconds,
            listen_url=None if self.store.is_sqlite else self.store.url,
            upload_cache_dir=s.data_dir / "cache" / "uploads",
        )
        duties = self.maintenance() if maintenance else None
        return Worker(
            self.queue,
            self.registry,
            self.storage,
            config,
            duties,
            meter_for(self.store),
            JobCompletions(self.job_gateway, self.store),
        )

    def job_gateway(self) -> Gateway:
        """The gateway of jobs' language-model calls: the API's code and registry settings,
        with its own breakers and health (this worker's traffic) and no token-rate limits
        (a job's calls are capped by its budgets and credits)."""
        from renderhouse.models.gateway import Gateway
        from renderhouse.models.registry import ModelRegistry

        return Gateway(ModelRegistry(self.settings.llm), self.store)

    def prepare_store(self, *, create_if_empty: bool = False) -> None:
        """Refuse an old schema; with ``create_if_empty`` an empty database is migrated
        (the embedded first start of ``serve``)."""
        if create_if_empty and current_revision(self.store) is None:
            upgrade(self.store)
        ensure_current(self.store)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.dispose()
        publisher = self.__dict__.get("publisher")
        if publisher is not None:
            publisher.close()
