"""Job events announced to every process through Redis pub/sub (``RENDERHOUSE_REDIS_URL``),
so an API node's event streams wake when a worker or another node writes, on any database.

The message is only a wake-up (the comma-separated ids of jobs that got events), published
after the writing transaction commits; subscribers re-read the events table by id. A lost
message therefore delays an event until the next poll and never loses one, which is why
neither side waits for Redis: publishing gives up fast and pauses after a failure, and the
subscriber reconnects with backoff while streams keep polling."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

import redis
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

CHANNEL = "renderhouse:events"
IDS_PER_MESSAGE = 500


class Publisher:
    """Publishes from commit hooks on any thread; never raises."""

    def __init__(self, url: str, *, timeout: float = 0.5, pause_seconds: float = 5.0) -> None:
        self.url = url
        self.pause_seconds = pause_seconds
        self._client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        self._paused_until = 0.0

    def __call__(self, job_ids: Iterable[str]) -> None:
        if time.monotonic() < self._paused_until:
            return
        ids = sorted(set(job_ids))
        try:
            for i in range(0, len(ids), IDS_PER_MESSAGE):
                self._client.publish(CHANNEL, ",".join(ids[i : i + IDS_PER_MESSAGE]))
        except Exception as exc:  # a commit already happened: nothing here may undo it
            self._paused_until = time.monotonic() + self.pause_seconds
            log.warning(
                "publishing job events to Redis failed (%s); streams rely on polling for %g s",
                exc,
                self.pause_seconds,
            )

    def close(self) -> None:
        self._client.close()


async def receive(
    url: str,
    on_ids: Callable[[list[str]], object],
    *,
    first_delay: float = 0.5,
    max_delay: float = 30.0,
    on_connected: Callable[[bool], object] | None = None,
) -> None:
    """Call ``on_ids`` with the job ids of every message on ``CHANNEL``, forever: when Redis
    goes away, retry after ``first_delay`` seconds, doubling up to ``max_delay``."""
    delay = first_delay
    while True:
        client = aioredis.Redis.from_url(url, socket_connect_timeout=2, health_check_interval=10)
        try:
            async with client.pubsub(ignore_subscribe_messages=True) as pubsub:
                await pubsub.subscribe(CHANNEL)
                if on_connected is not None:
                    on_connected(True)
                if delay > first_delay:
                    log.info("job events from Redis resumed")
                delay = first_delay
                while True:
                    message = await pubsub.get_message(timeout=5.0)
                    if message is not None and message["type"] == "message":
                        data = message["data"]
                        text = data.decode() if isinstance(data, bytes) else str(data)
                        on_ids(text.split(","))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning(
                "job events from Redis unavailable (%s); streams poll meanwhile; retry in %g s",
                exc,
                delay,
            )
        finally:
            if on_connected is not None:
                on_connected(False)
            await client.aclose()
        await asyncio.sleep(delay)
        delay = min(delay * 2, max_delay)
