"""What the routers share, hung on ``app.state.rh`` by ``create_app`` (no globals). Every
piece is a typed attribute, so a router's use of it is checked like any other code."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.to_thread
from fastapi import Request
from sqlalchemy import Connection

from renderhouse.accounts import User
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.database import Store

if TYPE_CHECKING:
    import httpx

    from renderhouse.api.fastpath.async_enqueue import AsyncEnqueuer
    from renderhouse.api.fastpath.async_reads import AsyncJobReader
    from renderhouse.api.fastpath.group_commit import GroupCommit
    from renderhouse.api.fastpath.key_cache import KeyCache
    from renderhouse.api.follow import Follower
    from renderhouse.api.ratelimit import RateLimiter
    from renderhouse.api.system_stream import SharedSnapshot, Timing
    from renderhouse.ledger.duitku import DuitkuClient
    from renderhouse.models.gateway import Gateway
    from renderhouse.ops.firing import Notifier
    from renderhouse.ops.health import Readiness

BeforeEnqueue = Callable[[Connection, User, NewJob], NewJob | None]
"""Runs inside the enqueue transaction (the credits reservation's seam). Return a changed
``NewJob`` (e.g. with ``cost_reserved`` set) or None to keep it; raise to refuse the job."""

ReadyCheck = Callable[["ApiState"], str | None]
"""A readiness check (``api/health.py``): raises, or returns a detail string."""


def always(_kind: str) -> bool:
    """The safe answer to "does this hook read the database for this kind?"."""
    return True


def never(_kind: str) -> bool:
    """For a hook that never reads the database (e.g. pricing from the input alone)."""
    return False


@dataclass(frozen=True)
class EnqueueHook:
    """A step of every enqueue transaction (budgets, pricing), declared with whether it
    reads the database: jobs whose hooks never do may be enqueued from the event loop."""

    run: BeforeEnqueue
    reads_database: Callable[[str], bool] = always
    """Kind → whether ``run`` reads the database for a job of that kind (default: yes)."""


@dataclass(frozen=True)
class InputReferences:
    """A kind's input references that only a router knows (e.g. ``avatar:<id>``), turned
    into what its input model takes before upload references are checked."""

    mentioned: Callable[[dict[str, Any]], bool]
    """Whether an input holds any (cheap, no database: else it is prepared off the loop)."""
    resolve: Callable[[Store, str, dict[str, Any]], dict[str, Any]]
    """(store, owner, input) → the input with them resolved; may read the store."""


@dataclass(frozen=True)
class ChatServices:
    """The LLM side of the app, built by ``api/models.install``."""

    gateway: Gateway
    """Model registry, limits, holds and usage behind ``/v1/chat/*`` and ``/v1/models``."""
    writes: GroupCommit
    """The group commit the gateway's holds and settlements share (closed at shutdown)."""


@dataclass
class HealthState:
    """What ``/health/ready`` checks (``api/health.py``)."""

    expect_workers: bool = False
    """A worker runs in this process tree (``serve``): readiness requires a live worker."""
    checks: list[tuple[str, ReadyCheck]] = field(default_factory=list)
    """This app's checks beyond ``health.CHECKS`` (name, check)."""
    readiness: Readiness | None = None
    """The checks' cached results, built on the first readiness request."""


@dataclass
class AlertState:
    """The alert notifier ``/v1/system/alerts`` shares (``api/system.py``)."""

    transport: httpx.BaseTransport | None = None
    """The HTTP transport its webhook POSTs go through (tests pass a mock); None: network."""
    notifier: Notifier | None = None
    """Built on first use from the runtime's settings."""


@dataclass
class ApiState:
    runtime: Runtime
    limiter: RateLimiter
    follower: Follower
    settings: Settings
    group_commit: GroupCommit
    """Shares one transaction among concurrent submissions (``api/fastpath/group_commit.py``)."""
    keys: KeyCache
    """API keys this process verified, re-checked in the background (``key_cache.py``)."""
    async_enqueue: AsyncEnqueuer | None = None
    """PostgreSQL only: the submit lane's enqueue on the event loop (``async_enqueue.py``)."""
    job_reader: AsyncJobReader | None = None
    """PostgreSQL only: the status lane's job reads on the event loop (``async_reads.py``)."""
    before_enqueue: list[EnqueueHook] = field(default_factory=list)
    """Run in order inside every enqueue transaction, by the route and the lanes alike."""
    input_references: dict[str, InputReferences] = field(default_factory=dict)
    """Kind → its references resolved at submission (``InputReferences``)."""
    chat: ChatServices | None = None
    """The LLM gateway and its writes (``api/models.install``; see ``gateway``)."""
    health: HealthState = field(default_factory=HealthState)
    """Readiness: which checks, whether a worker is expected, their cached results."""
    alerts: AlertState = field(default_factory=AlertState)
    """The notifier behind ``/v1/system/alerts``."""
    duitku_client: DuitkuClient | None = None
    """The Duitku client, made on first use: its connection pool is shared by all requests."""
    depth_refresh: asyncio.Future[None] | None = None
    """The queue recount running on a worker thread, if any (``submission``): one at a time."""
    pose_thumbnails: dict[str, asyncio.Future[Path]] = field(default_factory=dict)
    """Pose thumbnails being rendered, by cache key: concurrent requests share one render."""
    system_snapshot: SharedSnapshot | None = None
    """The cluster part of ``/v1/system/stream``, shared by its streams (made on first use)."""
    stream_timing: Timing | None = None
    """``/v1/system/stream``'s pacing; None: from ``stream_max_per_second`` (tests set it)."""

    @property
    def gateway(self) -> Gateway:
        """The LLM gateway; ``create_app`` always installs it."""
        if self.chat is None:
            raise RuntimeError("the chat services are not installed (api/models.install)")
        return self.chat.gateway

    async def close(self) -> None:
        """Stop the app's background threads and streams (before its runtime closes)."""
        if self.async_enqueue is not None:
            await self.async_enqueue.close()
        if self.job_reader is not None:
            await self.job_reader.close()
        await anyio.to_thread.run_sync(self.group_commit.close)
        await anyio.to_thread.run_sync(self.keys.close)
        await self.follower.close()


async def api_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.rh
    return state
