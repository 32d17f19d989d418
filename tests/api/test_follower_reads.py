"""The Follower reads for many streams at once: fetches asked for in one loop turn share a
query (a few for 300 streams), and each stream still gets exactly its own events."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event

from renderhouse.api.follow import READ_CHUNK, Follower
from renderhouse.queue.enqueue import NewJob

pytestmark = pytest.mark.anyio


async def test_one_turn_of_fetches_is_read_together(runtime, users) -> None:
    q = runtime.queue
    made = q.enqueue_many([NewJob(kind="noop", input={}, owner=users.alice_id) for _ in range(300)])
    ids = [job.id for job, _ in made]
    claimed = {j.id: j for j in q.claim(["noop"], 300, "w")}
    for step in range(3):
        for job_id in ids[:5]:
            q.progress(job_id, claimed[job_id].attempt, step, 3, "")
    first = ids[0]
    middle = q.events(first)[2]["id"]

    queries: list[str] = []

    def count(_conn, _cursor, statement: str, *_args: object) -> None:
        if "job_events" in statement:
            queries.append(statement)

    event.listen(runtime.store.engine, "before_cursor_execute", count)
    follower = Follower(runtime.store, poll_seconds=60)
    try:
        wanted = [(job_id, 0, 500) for job_id in ids] + [(first, middle, 500), (first, 0, 2)]
        got = await asyncio.gather(
            *(follower.fetch(q, job_id, after, 0, limit) for job_id, after, limit in wanted)
        )
    finally:
        event.remove(runtime.store.engine, "before_cursor_execute", count)
        await follower.close()

    for (job_id, after, limit), events in zip(wanted, got, strict=True):
        assert events == q.events(job_id, after, limit), (job_id, after, limit)
    assert len(got[0]) == 5 and len(got[-1]) == 2 and got[-2][0]["id"] > middle
    # 300 jobs in READ_CHUNKs, plus the repeated job (another after_id) and another limit.
    assert len(queries) <= 300 // READ_CHUNK + 1 + 2, len(queries)
