"""Metrics count what really happened to jobs in a real store, expose queue state at scrape
time, and add up across processes through the multiprocess directory."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from renderhouse import metrics
from renderhouse.queue.clock import FakeClock
from renderhouse.queue.enqueue import NewJob
from renderhouse.queue.queue import JobQueue
from renderhouse.store.database import Store
from renderhouse.worker import registration
from renderhouse.worker.breaker import CircuitBreaker


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(body: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def queue(store: Store) -> JobQueue:
    q = JobQueue(store, clock=FakeClock(), lease_seconds=10)
    metrics.instrument_queue(q)
    metrics.instrument_queue(q)  # idempotent: counting twice would double every number
    return q


def test_job_lifecycle_is_counted(queue: JobQueue) -> None:
    kind = f"k{id(queue)}"
    before_enq = sample("renderhouse_jobs_enqueued_total", kind=kind)
    queue.enqueue_many([NewJob(kind=kind, input={}), NewJob(kind=kind, input={})])
    assert sample("renderhouse_jobs_enqueued_total", kind=kind) == before_enq + 2

    a, b = queue.claim([kind], 2, "w1")
    for job in (a, b):
        metrics.job_started(job)
    queue.clock.advance(3)  # type: ignore[attr-defined]
    queue.complete(a.id, a.attempt, {"ok": True})
    metrics.attempt_finished(a, "done")
    after = queue.fail(b.id, b.attempt, "render_crashed", "boom")
    metrics.attempt_finished(b, "error", after)

    assert sample("renderhouse_jobs_started_total", kind=kind) == 2
    assert sample("renderhouse_jobs_finished_total", kind=kind, outcome="succeeded") == 1
    assert sample("renderhouse_job_retries_total", kind=kind, code="render_crashed") == 1
    assert sample("renderhouse_job_duration_seconds_sum", kind=kind, outcome="succeeded") == 3
    assert sample("renderhouse_job_attempts_total", kind=kind, result="error") == 1


def test_rolled_back_enqueue_is_not_counted(queue: JobQueue) -> None:
    kind = f"rb{id(queue)}"
    with pytest.raises(RuntimeError), queue.store.begin() as conn:
        queue.enqueue(NewJob(kind=kind, input={}), conn)
        raise RuntimeError("the credit reservation failed")
    assert sample("renderhouse_jobs_enqueued_total", kind=kind) == 0


def test_scrape_reads_queue_state(queue: JobQueue) -> None:
    queue.enqueue(NewJob(kind="turntable", input={}))
    queue.clock.advance(42)  # type: ignore[attr-defined]
    registration.register(queue.store, "w-1", ["turntable"], queue.clock.now())
    breaker = CircuitBreaker("turntable", queue.clock, 1, 30)
    breaker.on_failure()
    registration.save_breaker(queue.store, breaker, queue.clock.now())

    body, content_type = metrics.render(queue)
    assert content_type.startswith("text/plain")
    got = scraped(body)
    assert got[("renderhouse_queue_jobs", (("kind", "turntable"), ("state", "queued")))] == 1
    assert got[("renderhouse_queue_oldest_age_seconds", (("kind", "turntable"),))] == 42
    assert got[("renderhouse_circuit_breaker_state", (("kind", "turntable"),))] == 2
    assert got[("renderhouse_workers_live", (("kind", "turntable"),))] == 1
    assert got[("renderhouse_process_resident_memory_bytes", ())] > 10_000_000


def test_http_middleware_uses_route_templates() -> None:
    asyncio.run(_http_middleware())


async def _http_middleware() -> None:
    from fastapi import FastAPI
    from fastapi.responses import JSONResponse

    app = FastAPI()

    @app.get("/v1/things/{thing_id}")
    async def thing(thing_id: str) -> JSONResponse:
        return JSONResponse({}, status_code=429 if thing_id == "slow" else 200)

    app.add_middleware(metrics.MetricsMiddleware)
    route = "/v1/things/{thing_id}"
    before = sample("renderhouse_http_requests_total", method="GET", route=route, status="200")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        for thing_id in ("a", "b", "slow"):
            await client.get(f"/v1/things/{thing_id}")
        await client.get("/nowhere")
    after = sample("renderhouse_http_requests_total", method="GET", route=route, status="200")
    assert after == before + 2
    assert sample("renderhouse_rate_limit_rejections_total", route=route) >= 1
    assert sample("renderhouse_http_requests_total", method="GET", route="unmatched", status="404")
    assert sample("renderhouse_http_request_duration_seconds_count", method="GET", route=route)


def test_counters_add_up_across_processes(tmp_path: Path) -> None:
    """Two processes count into one directory; a third renders the sum."""
    directory = tmp_path / "prom"
    child = textwrap.dedent(
        f"""
        from pathlib import Path
        from renderhouse import metrics
        metrics.enable_multiprocess(Path({str(directory)!r}))
        metrics.JOBS_ENQUEUED.labels("noop").inc(3)
        metrics.REFUNDS.labels("failed").inc()
        """
    )
    directory.mkdir()
    for _ in range(2):
        subprocess.run([sys.executable, "-c", child], check=True)
    scrape = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from renderhouse import metrics
        metrics.enable_multiprocess(Path({str(directory)!r}))
        sys.stdout.buffer.write(metrics.render()[0])
        """
    )
    out = subprocess.run([sys.executable, "-c", scrape], check=True, capture_output=True).stdout
    got = scraped(out)
    assert got[("renderhouse_jobs_enqueued_total", (("kind", "noop"),))] == 6
    assert got[("renderhouse_credit_refunds_total", (("result", "failed"),))] == 2
