"""Which alerts are firing, shared by every process that evaluates the rules (API nodes,
workers, ``serve``) through the ``alerts_firing`` table, and the webhook that hears of each
change once.

A start is the INSERT that created an alert's row, a resolve the DELETE that removed it;
both are conditional (``ON CONFLICT DO NOTHING``, ``DELETE … RETURNING``), so when two
processes see the same change at once only one of them announces it. The POST happens after
the commit, so a process that dies in between loses that one notice (at most once)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict
from typing import Any

import httpx
from sqlalchemy import Connection

from renderhouse.ops.alerts import Alert
from renderhouse.store import firing_rows
from renderhouse.store.database import Store

log = logging.getLogger(__name__)


def _key(alert: Alert) -> str:
    return hashlib.sha256(alert.fingerprint.encode()).hexdigest()


def firing(store: Store) -> list[dict[str, Any]]:
    """The alerts firing as of their last evaluation, oldest first (what the dashboard shows)."""
    with store.read() as conn:
        rows = firing_rows.all_rows(conn)
    return [json.loads(r.data) | {"started_at": r.started_at} for r in rows]


class Notifier:
    """``update`` with what an evaluation found; it returns (and POSTs) what changed.
    A machine's own alert (its disk) that no evaluation confirmed for ``stale_after``
    seconds is resolved by anyone: that machine is gone or no longer evaluates."""

    def __init__(
        self,
        store: Store,
        url: str | None,
        transport: httpx.BaseTransport | None = None,
        stale_after: float = 3600.0,
    ) -> None:
        self.store, self.url, self.transport = store, url, transport
        self.stale_after = stale_after

    def update(
        self, alerts: list[Alert], host: str | None, now: float, *, cluster: bool = True
    ) -> dict[str, list[Alert]]:
        """``alerts`` is a full evaluation of the cluster rules (when ``cluster``) and of
        ``host``'s own rules (when ``host`` is set); rows outside those are left alone."""
        wanted = {
            _key(a): a for a in alerts if (a.host is None and cluster) or (a.host == host and host)
        }
        with self.store.begin() as conn:
            started = self._start(conn, wanted, now)
            resolved = self._resolve(conn, set(wanted), host, now, cluster)
        if self.url and (started or resolved):
            self._post(started, resolved)
        return {"started": started, "resolved": resolved}

    def _start(self, conn: Connection, wanted: dict[str, Alert], now: float) -> list[Alert]:
        known = firing_rows.keys(conn)
        started = []
        for key, alert in sorted(wanted.items()):  # one lock order for every process
            data = json.dumps(asdict(alert) | {"fingerprint": alert.fingerprint})
            if key in known:
                firing_rows.refresh(conn, key, data, now)
                continue
            values = {
                "host": alert.host,
                "name": alert.name,
                "severity": alert.severity,
                "data": data,
            }
            if firing_rows.insert_new(conn, key, values, now):  # else announced elsewhere
                started.append(alert)
        return started

    def _resolve(
        self, conn: Connection, keep: set[str], host: str | None, now: float, cluster: bool
    ) -> list[Alert]:
        rows = firing_rows.delete_resolved(conn, keep, host, cluster, now - self.stale_after)
        return [_alert(json.loads(data)) for data in rows]

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


def _alert(data: dict[str, Any]) -> Alert:
    data.pop("fingerprint", None)
    return Alert(**data)
