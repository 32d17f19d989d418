"""Prometheus metrics. Events (jobs started/finished, HTTP requests, rescues, refunds) are
counted where they happen; state (queue depth, oldest job, breakers, live workers, stored
bytes, process resources) is read from the store at scrape time by ``StateCollector``, so
every API node reports the same cluster-wide truth and no gauge goes stale.

Several processes (``serve`` with API and worker processes, uvicorn workers) share one
``PROMETHEUS_MULTIPROC_DIR``: call ``enable_multiprocess`` in each before it counts anything.
Every event metric is labelled, so its values are created lazily and pick up the
multiprocess value class whenever that is enabled."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Connection, func, select

from renderhouse import result_metrics
from renderhouse.queue.jobs import QUEUED, Job
from renderhouse.store.database import after_commit

if TYPE_CHECKING:
    from renderhouse.queue.queue import JobQueue

JOB_BUCKETS = (0.05, 0.25, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
BREAKER_VALUES = {"closed": 0, "half_open": 1, "open": 2}

JOBS_ENQUEUED = Counter("renderhouse_jobs_enqueued", "Jobs committed to the queue.", ["kind"])
JOBS_STARTED = Counter("renderhouse_jobs_started", "Attempts claimed by a worker.", ["kind"])
JOBS_FINISHED = Counter(
    "renderhouse_jobs_finished", "Jobs that reached a terminal state.", ["kind", "outcome"]
)
JOB_DURATION = Histogram(
    "renderhouse_job_duration_seconds",
    "First claim to terminal state.",
    ["kind", "outcome"],
    buckets=JOB_BUCKETS,
)
JOB_WAIT = Histogram(
    "renderhouse_job_queue_wait_seconds",
    "Due time to claim, per attempt.",
    ["kind"],
    buckets=JOB_BUCKETS,
)
ATTEMPTS = Counter(
    "renderhouse_job_attempts", "Attempt outcomes reported by workers.", ["kind", "result"]
)
RETRIES = Counter("renderhouse_job_retries", "Failed attempts put back to retry.", ["kind", "code"])
RESCUES = Counter(
    "renderhouse_jobs_rescued", "Jobs whose lease expired and were put back.", ["kind"]
)
REFUNDS = Counter("renderhouse_credit_refunds", "Credit reservations voided.", ["result"])
HTTP_REQUESTS = Counter(
    "renderhouse_http_requests", "HTTP requests served.", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "renderhouse_http_request_duration_seconds",
    "Time to the end of the response.",
    ["method", "route"],
    buckets=HTTP_BUCKETS,
)
RATE_LIMITED = Counter("renderhouse_rate_limit_rejections", "Requests refused with 429.", ["route"])
# What a job's result reports under ``metrics`` (an allow-list: see ``result_reported``).
JOB_PAGES = Counter("renderhouse_job_pages", "Pages processed, as jobs report them.", ["kind"])
JOB_WORK_SECONDS = Counter(
    "renderhouse_job_work_seconds", "Seconds of work jobs report (pages/s = ratio).", ["kind"]
)
JOB_EVENTS = Histogram(
    "renderhouse_job_events",
    "Items (calendar events, ...) a job found per document.",
    ["kind"],
    buckets=(0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
JOB_CONFIDENCE = Histogram(
    "renderhouse_job_confidence",
    "Confidence of each item a job found.",
    ["kind"],
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
)
MAX_REPORTED_ITEMS = 10_000


def enable_multiprocess(directory: Path, *, fresh: bool = False) -> None:
    """Share counters across processes through files in ``directory``. The parent of the
    process tree passes ``fresh=True`` once, to drop the files of an earlier run."""
    directory.mkdir(parents=True, exist_ok=True)
    if fresh:
        for f in directory.glob("*.db"):
            f.unlink(missing_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)
    values.ValueClass = values.MultiProcessValue()


# -- instrumentation: subscriptions on the queue, explicit calls from the worker ----------
def instrument_queue(queue: JobQueue) -> None:
    """Count enqueues and terminal states of ``queue`` once their transaction commits."""
    if _count_enqueued_jobs in queue.enqueue_listeners:
        return
    queue.terminal_hooks.append(_on_terminal)
    queue.enqueue_listeners.append(_count_enqueued_jobs)


def _count_enqueued_jobs(created: list[Job]) -> None:
    _count_enqueued([job.kind for job in created])


def _count_enqueued(kinds: Iterable[str]) -> None:
    for kind in kinds:
        JOBS_ENQUEUED.labels(kind).inc()


def _on_terminal(conn: Connection, job: Job) -> None:
    def record(_conn: Any) -> None:
        JOBS_FINISHED.labels(job.kind, job.state).inc()
        if job.started_at is not None and job.finished_at is not None:
            JOB_DURATION.labels(job.kind, job.state).observe(job.finished_at - job.started_at)

    after_commit(conn, lambda: record(conn))


def job_started(job: Job) -> None:
    JOBS_STARTED.labels(job.kind).inc()
    if job.attempted_at is not None:
        JOB_WAIT.labels(job.kind).observe(max(0.0, job.attempted_at - job.run_at))


def attempt_finished(job: Job, result: str, after: Job | None = None) -> None:
    """``result`` is the worker's outcome ("done", "error", "snooze", ...); ``after`` the job
    as the queue left it, to tell a retry from a final failure."""
    ATTEMPTS.labels(job.kind, result).inc()
    if result == "error" and after is not None and after.state == QUEUED:
        RETRIES.labels(job.kind, after.error_code or "error").inc()


def _number(value: Any, low: float, high: float) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if low <= value <= high else None  # NaN fails both comparisons


def result_reported(kind: str, result: dict[str, Any] | None) -> None:
    """Turn a succeeded job's ``result["metrics"]`` into series, any kind alike. Only the
    allow-listed keys count (``pages``, ``seconds``, ``events``: numbers; ``confidence``: a
    list of numbers in [0, 1]); anything else, or out of range, is ignored, so a result
    cannot mint series or labels."""
    result_metrics.record(kind, result)  # the render KPIs' allow-list (result_metrics.py)
    reported = (result or {}).get("metrics")
    if not isinstance(reported, dict):
        return
    if (pages := _number(reported.get("pages"), 0, 1e9)) is not None:
        JOB_PAGES.labels(kind).inc(pages)
    if (seconds := _number(reported.get("seconds"), 0, 1e9)) is not None:
        JOB_WORK_SECONDS.labels(kind).inc(seconds)
    if (events := _number(reported.get("events"), 0, 1e9)) is not None:
        JOB_EVENTS.labels(kind).observe(events)
    confidences = reported.get("confidence")
    if isinstance(confidences, list):
        histogram = JOB_CONFIDENCE.labels(kind)
        for value in confidences[:MAX_REPORTED_ITEMS]:
            if (c := _number(value, 0, 1)) is not None:
                histogram.observe(c)


def jobs_rescued(jobs: Iterable[Job]) -> None:
    for job in jobs:
        RESCUES.labels(job.kind).inc()


def refund(ok: bool = True) -> None:
    """The ledger calls this when it voids a reservation (``ok=False`` when voiding failed)."""
    REFUNDS.labels("ok" if ok else "failed").inc()


# -- state read at scrape time --------------------------------------------------------------
class StateCollector(Collector):
    """Queue depth and oldest-job age per kind, breakers, live workers, stored bytes, this
    process tree's CPU and memory and the data directory's disk, read when Prometheus
    scrapes."""

    def __init__(
        self, queue: JobQueue, stale_after: float = 30.0, data_dir: Path | None = None
    ) -> None:
        self.queue, self.stale_after, self.data_dir = queue, stale_after, data_dir

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from renderhouse.store.schema import artifacts
        from renderhouse.worker.registration import breaker_states, live_workers

        store, now = self.queue.store, self.queue.clock.now()
        depth = GaugeMetricFamily(
            "renderhouse_queue_jobs", "Jobs per kind and state.", labels=["kind", "state"]
        )
        age = GaugeMetricFamily(
            "renderhouse_queue_oldest_age_seconds",
            "Age of the oldest due queued job.",
            labels=["kind"],
        )
        for kind, counts in self.queue.stats().items():
            age.add_metric([kind], counts.get("oldest_queued_age", 0.0))
            for state in ("queued", "running", "succeeded", "failed", "cancelled"):
                depth.add_metric([kind, state], counts.get(state, 0))
        yield depth
        yield age
        breakers = GaugeMetricFamily(
            "renderhouse_circuit_breaker_state",
            "0 closed, 1 half-open, 2 open.",
            labels=["kind"],
        )
        for key, row in breaker_states(store).items():
            breakers.add_metric([key], BREAKER_VALUES.get(str(row["state"]), 2))
        yield breakers
        workers = GaugeMetricFamily(
            "renderhouse_workers_live", "Workers with a recent heartbeat.", labels=["kind"]
        )
        per_kind: dict[str, int] = {}
        for w in live_workers(store, now, self.stale_after):
            for kind in w["kinds"]:  # type: ignore[attr-defined]
                per_kind[kind] = per_kind.get(kind, 0) + 1
        for kind, n in sorted(per_kind.items()):
            workers.add_metric([kind], n)
        yield workers
        with store.read() as conn:
            total, count = conn.execute(
                select(func.coalesce(func.sum(artifacts.c.size), 0), func.count())
            ).one()
        yield GaugeMetricFamily("renderhouse_storage_bytes", "Bytes of stored artifacts.", total)
        yield GaugeMetricFamily("renderhouse_storage_artifacts", "Stored artifacts.", count)
        yield from _process_metrics()
        if self.data_dir is not None:
            yield from _disk_metrics(self.data_dir)


def _disk_metrics(data_dir: Path) -> Iterator[GaugeMetricFamily]:
    """The data directory's filesystem, so the disk rule needs no node exporter."""
    import psutil

    try:
        usage = psutil.disk_usage(str(data_dir))
    except OSError:  # not created yet (no local data in this deployment)
        return
    yield GaugeMetricFamily(
        "renderhouse_data_disk_free_bytes",
        "Bytes free to Renderhouse on the data directory's filesystem.",
        usage.free,
    )
    yield GaugeMetricFamily(
        "renderhouse_data_disk_size_bytes", "Size of the data directory's filesystem.", usage.total
    )


def _process_metrics() -> Iterator[GaugeMetricFamily]:
    import psutil

    me = psutil.Process()
    procs = [me, *me.children(recursive=True)]
    cpu = rss = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            cpu += t.user + t.system
            rss += p.memory_info().rss
        except psutil.Error:
            continue
    yield GaugeMetricFamily(
        "renderhouse_process_cpu_seconds", "CPU time of this process tree.", cpu
    )
    yield GaugeMetricFamily(
        "renderhouse_process_resident_memory_bytes", "Resident memory of this process tree.", rss
    )
    yield GaugeMetricFamily("renderhouse_process_count", "Processes in this tree.", len(procs))


def render(queue: JobQueue | None = None, data_dir: Path | None = None) -> tuple[bytes, str]:
    """The Prometheus text exposition for ``GET /metrics``: (body, content type)."""
    registry = CollectorRegistry(auto_describe=False)
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        MultiProcessCollector(registry, path=directory)
    else:
        registry.register(_Forward(REGISTRY))
    if queue is not None:
        registry.register(StateCollector(queue, data_dir=data_dir))
    return generate_latest(registry), CONTENT_TYPE_LATEST


class _Forward(Collector):
    def __init__(self, source: CollectorRegistry) -> None:
        self.source = source

    def collect(self) -> Iterator[Any]:
        return iter(self.source.collect())


class MetricsMiddleware:
    """ASGI middleware: requests by route template (never the raw path, which would give a
    series per job id) and status, latency, and 429s as rate-limit rejections."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 500

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = _route(scope)
            method = scope.get("method", "GET")
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - start)
            if status == 429:
                RATE_LIMITED.labels(route).inc()


def _route(scope: dict[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if path:
        return str(path)
    return "static" if scope.get("path", "/").startswith("/static") else "unmatched"
