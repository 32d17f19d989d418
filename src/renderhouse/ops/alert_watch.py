"""Maintenance duty: evaluate the alert rules on a schedule in every worker and in
``serve``, so the webhook hears of an alert although nobody reads ``/v1/system/alerts``,
also in a deployment of ``renderhouse api`` + ``renderhouse worker`` processes.

Once per slot of ``alert_check_seconds`` across all processes, with the claim the periodic
jobs use: the cluster rules run where the (``rh:alerts``, slot) row of ``periodic_runs``
is inserted, a machine's own rules (its disk) where (``rh:alerts@<host>``, slot) is. Whoever
evaluates, ``ops.firing`` announces each change once."""

from __future__ import annotations

import math
from collections.abc import Callable

from sqlalchemy import Connection

from renderhouse.ops import alerts, resources
from renderhouse.ops.alerts import Alert
from renderhouse.ops.firing import Notifier
from renderhouse.queue import periodic
from renderhouse.runtime import Runtime

CLUSTER = "rh:alerts"
"""The duty's name in ``periodic_runs`` (a prefix no periodic job's name has)."""
KEEP_SLOTS = 10
"""Claimed slots kept in ``periodic_runs``; older ones are deleted as new ones are claimed."""


def notifier(rt: Runtime) -> Notifier:
    """The notifier for ``rt``'s settings; any number of them share one state (the store)."""
    stale = max(3600.0, 3 * rt.settings.alert_check_seconds)
    return Notifier(rt.store, rt.settings.alert_webhook_url, stale_after=stale)


def _claim(conn: Connection, name: str, slot: float, every: float) -> bool:
    return periodic.claim_slot(conn, name, slot, slot - KEEP_SLOTS * every)


def duty(
    rt: Runtime, notify: Notifier | None = None
) -> tuple[float, Callable[[], dict[str, list[Alert]]]]:
    """``(every seconds, callable)`` for ``Maintenance.extra``; the callable returns what
    started and resolved (empty when another process had this slot)."""
    every = rt.settings.alert_check_seconds
    notify = notify or notifier(rt)
    host = alerts.this_host()

    def check_alerts() -> dict[str, list[Alert]]:
        now = rt.queue.clock.now()
        slot = math.floor(now / every) * every
        with rt.store.begin() as conn:
            cluster = _claim(conn, CLUSTER, slot, every)
            mine = _claim(conn, f"{CLUSTER}@{host}", slot, every)
        if not (cluster or mine):
            return {"started": [], "resolved": []}
        found = alerts.evaluate(rt, resources.snapshot(rt))
        return notify.update(found, host if mine else None, now, cluster=cluster)

    return every, check_alerts
