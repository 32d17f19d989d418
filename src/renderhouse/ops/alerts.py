"""Alert rules evaluated in-process (for deployments without Prometheus + Alertmanager; the
same conditions ship as Prometheus rules in ``docs/prometheus-alerts.yml``). Served at
``GET /v1/system/alerts``; ``ops.firing`` remembers what fires and tells the webhook of each
change once; ``ops.alert_watch`` evaluates them on a schedule in workers and ``serve``.

Every rule reads shared state (the store), except the disk rule, which is about the machine
evaluating it and so carries its ``host``: evaluations on other machines leave it alone."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Any

from renderhouse.runtime import Runtime

MIN_FINISHED_FOR_RATE = 5
"""A failure rate over fewer finished jobs than this is noise, not an alert."""


def this_host() -> str:
    """The name a machine's own alerts carry (short enough for a ``periodic_runs`` name)."""
    return socket.gethostname()[:100]


@dataclass(frozen=True)
class Alert:
    name: str
    severity: str
    summary: str
    labels: dict[str, str] = field(default_factory=dict)
    value: float = 0.0
    threshold: float = 0.0
    host: str | None = None
    """Set for alerts about one machine; None for the cluster's shared state."""

    @property
    def fingerprint(self) -> str:
        labels = ",".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return f"{self.name}|{labels}" + (f"@{self.host}" if self.host else "")


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
                host=this_host(),
            )
        )
    alerts += _unreconciled(rt)
    return alerts


def _lost_workers(rt: Runtime) -> list[Alert]:
    """Workers that stopped beating without unregistering (killed, machine lost)."""
    from renderhouse.worker.registration import lost_workers

    now = rt.queue.clock.now()
    window = max(3 * rt.settings.heartbeat_seconds, rt.settings.lease_seconds)
    return [
        Alert(
            "worker_heartbeat_lost",
            "warning",
            f"worker {worker_id} on {host} last beat {now - beat:.0f}s ago",
            {"worker": worker_id},
            round(now - beat, 1),
            window,
        )
        for worker_id, host, beat in lost_workers(rt.store, now, window)
    ]


def _unreconciled(rt: Runtime) -> list[Alert]:
    """Money that did not move back: reservations of finished jobs the ledger still holds
    (a failed refund leaves one), found by its reconcile. Not this process's failed-refund
    counter: a per-process count would fire on one evaluator and resolve on the next (that
    counter is the Prometheus rule ``RenderhouseRefundFailures``)."""
    out: list[Alert] = []
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
