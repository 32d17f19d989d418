"""The composition root: build the store, queue, storage and generator registry from the
settings once, at the edge (CLI or server), and hand them down."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

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
        return queue

    @cached_property
    def storage(self) -> Storage:
        return open_storage(self.settings.resolved_storage_url, self.settings.secret_key)

    @cached_property
    def registry(self) -> Registry:
        return Registry.from_entry_points()

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
