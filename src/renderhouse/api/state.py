"""What the routers share, hung on ``app.state.rh`` by ``create_app`` (no globals)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
    from renderhouse.api.fastpath.async_enqueue import AsyncEnqueuer
    from renderhouse.api.fastpath.async_reads import AsyncJobReader
    from renderhouse.api.fastpath.group_commit import GroupCommit
    from renderhouse.api.fastpath.key_cache import KeyCache
    from renderhouse.api.follow import Follower
    from renderhouse.api.ratelimit import RateLimiter

BeforeEnqueue = Callable[[Connection, User, NewJob], NewJob | None]
"""Runs inside the enqueue transaction (the credits reservation's seam). Return a changed
``NewJob`` (e.g. with ``cost_reserved`` set) or None to keep it; raise to refuse the job."""


@dataclass(frozen=True)
class InputReferences:
    """A kind's input references that only a router knows (e.g. ``avatar:<id>``), turned
    into what its input model takes before upload references are checked."""

    mentioned: Callable[[dict[str, Any]], bool]
    """Whether an input holds any (cheap, no database: else it is prepared off the loop)."""
    resolve: Callable[[Store, str, dict[str, Any]], dict[str, Any]]
    """(store, owner, input) → the input with them resolved; may read the store."""


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
    before_enqueue: list[BeforeEnqueue] = field(default_factory=list)
    hook_needs_connection: dict[Any, Callable[[str], bool]] = field(default_factory=dict)
    """For a ``before_enqueue`` hook: whether it reads the database for a job of this kind
    (a hook missing here always does). Jobs whose hooks never do may be enqueued from the
    event loop."""
    input_references: dict[str, InputReferences] = field(default_factory=dict)
    """Kind → its references resolved at submission (``InputReferences``)."""
    extra: dict[str, Any] = field(default_factory=dict)

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
