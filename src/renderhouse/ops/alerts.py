"""Alert rules evaluated in-process (for deployments without Prometheus + Alertmanager; the
same conditions ship as Prometheus rules in ``docs/prometheus-alerts.yml``), served at
``GET /v1/system/alerts`` and, when ``alert_webhook_url`` is set, POSTed to it as JSON: once
when an alert starts firing and once when it resolves, not on every evaluation."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

from renderhouse.runtime import Runtime

log = logging.getLogger(__name__)
MIN_FINISHED_FOR_RATE = 5
"""A failure rate over fewer finished jobs than this is noise, not an alert."""


@dataclass(frozen=True)
class Alert:
    name: str
    severity: str
    summary: str
    labels: dict[str, str] = field(default_factory=dict)
    value: float = 0.0
    threshold: float = 0.0

    @property
    def fingerprint(self) -> str:
        return self.name + "|" + ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))


def evaluate(rt: Runtime, snapshot: dict[str, Any]) -> list[Alert]:
    """``snapshot`` is ``ops.resources.snapshot(rt)`` (the dashboard already has one)."""
    s = rt.settings
    alerts: list[Alert] = []
    for kind, counts in snapshot["throughput"]["1h"]["kinds"].items():
        done = sum(counts.values())
        rate = counts.get("failed", 0) / done if done else 0.0
        if done >= MIN_FINISHED_FOR_RATE and rate > s.failure_alert_rate:
            alerts.append(
                Alert(
                    "job_failure_rate",
                    "critical",
                    f"{rate:.0%} of {kind} jobs failed in the last hour",
                    {"kind": kind},
                    round(rate, 4),
                    s.failure_alert_rate,
                )
            )
    for kind, counts in snapshot["queue"].items():
        age = float(counts.get("oldest_queued_age", 0.0))
        if age > s.backlog_alert_seconds:
            alerts.append(
                Alert(
                    "queue_backlog",
                    "warning",
                    f"the oldest queued {kind} job has waited {age:.0f}s",
                    {"kind": kind},
                    round(age, 1),
                    s.backlog_alert_seconds,
                )
            )
    for kind, b in snapshot["breakers"].items():
        if b["state"] != "closed":
            alerts.append(
                Alert(
                    "circuit_breaker_open",
                    "warning",
                    f"the circuit breaker for {kind} is {b['state']}",
                    {"kind": kind},
                    float(b["failures"]),
                )
            )
    alerts += _lost_workers(rt)
    disk = snapshot["disk"]["percent"]
    if disk >= s.disk_alert_percent:
        alerts.append(
            Alert(
                "disk_nearly_full",
                "critical",
                f"the data directory's disk is {disk:.0f}% full",
                {"path": snapshot["disk"]["path"]},
                disk,
                s.disk_alert_percent,
            )
        )
    alerts += _refund_failures(rt)
    return alerts


def _lost_workers(rt: Runtime) -> list[Alert]:
    """Workers that stopped beating without unregistering (killed, machine lost)."""
    from sqlalchemy import select

    from renderhouse.store.schema import workers

    now = rt.queue.clock.now()
    window = max(3 * rt.settings.heartbeat_seconds, rt.settings.lease_seconds)
    with rt.store.read() as conn:
        rows = conn.execute(select(workers).where(workers.c.heartbeat_at < now - window)).all()
    return [
        Alert(
            "worker_heartbeat_lost",
            "warning",
            f"worker {r.id} on {r.hostname} last beat {now - r.heartbeat_at:.0f}s ago",
            {"worker": r.id},
            round(now - r.heartbeat_at, 1),
            window,
        )
        for r in rows
    ]


def _refund_failures(rt: Runtime) -> list[Alert]:
    """Money that did not move back: reservations of finished jobs the ledger still holds
    (its reconcile finds them), plus voids this process saw fail."""
    from prometheus_client import REGISTRY

    out = []
    failed = REGISTRY.get_sample_value("renderhouse_credit_refunds_total", {"result": "failed"})
    if failed:
        out.append(
            Alert(
                "refund_failures",
                "critical",
                f"{failed:.0f} credit refunds failed in this process",
                {},
                failed,
            )
        )
    try:
        from renderhouse.ledger import reconcile
    except ImportError:
        return out
    with rt.store.read() as conn:
        report = reconcile(conn)
    if not report.ok:
        out.append(
            Alert(
                "ledger_unreconciled",
                "critical",
                f"the credits ledger has {report.problem_count} problem(s): "
                + "; ".join(report.problems[:3]),
                {},
                float(report.problem_count),
            )
        )
    return out


class Notifier:
    """Remembers what is firing so the webhook hears about changes only."""

    def __init__(self, url: str | None, transport: httpx.BaseTransport | None = None) -> None:
        self.url, self.transport = url, transport
        self.firing: dict[str, Alert] = {}
        self._lock = threading.Lock()

    def update(self, alerts: list[Alert]) -> dict[str, list[Alert]]:
        with self._lock:
            now = {a.fingerprint: a for a in alerts}
            started = [a for f, a in now.items() if f not in self.firing]
            resolved = [a for f, a in self.firing.items() if f not in now]
            self.firing = now
        if self.url and (started or resolved):
            self._post(started, resolved)
        return {"started": started, "resolved": resolved}

    def _post(self, started: list[Alert], resolved: list[Alert]) -> None:
        body = {
            "source": "renderhouse",
            "firing": [asdict(a) for a in started],
            "resolved": [asdict(a) for a in resolved],
        }
        try:
            with httpx.Client(transport=self.transport, timeout=5) as client:
                client.post(str(self.url), json=body).raise_for_status()
        except httpx.HTTPError as exc:
            log.warning("alert webhook failed: %s", exc)


def watch(rt: Runtime, notifier: Notifier) -> Callable[[], dict[str, list[Alert]]]:
    """A maintenance duty: evaluate the rules and tell the webhook what started or resolved,
    so an alert fires even when nobody is reading ``/v1/system/alerts``."""
    from renderhouse.ops import resources

    def check() -> dict[str, list[Alert]]:
        return notifier.update(evaluate(rt, resources.snapshot(rt)))

    return check
