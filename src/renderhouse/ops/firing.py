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
from sqlalchemy import Connection, and_, delete, or_, select, update

from renderhouse.ops.alerts import Alert
from renderhouse.store.database import Store
from renderhouse.store.dialect import upsert_insert
from renderhouse.store.schema import alerts_firing

log = logging.getLogger(__name__)


def _key(alert: Alert) -> str:
    return hashlib.sha256(alert.fingerprint.encode()).hexdigest()


def firing(store: Store) -> list[dict[str, Any]]:
    """The alerts firing as of their last evaluation, oldest first (what the dashboard shows)."""
    with store.read() as conn:
        rows = conn.execute(select(alerts_firing).order_by(alerts_firing.c.started_at)).all()
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
        known = set(conn.execute(select(alerts_firing.c.key)).scalars())
        started = []
        for key, alert in sorted(wanted.items()):  # one lock order for every process
            data = json.dumps(asdict(alert) | {"fingerprint": alert.fingerprint})
            if key in known:
                conn.execute(
                    update(alerts_firing)
                    .where(alerts_firing.c.key == key)
                    .values(data=data, updated_at=now)
                )
                continue
            row = conn.execute(
                upsert_insert(conn, alerts_firing)
                .values(
                    key=key,
                    host=alert.host,
                    name=alert.name,
                    severity=alert.severity,
                    data=data,
                    started_at=now,
                    updated_at=now,
                )
                .on_conflict_do_nothing()
                .returning(alerts_firing.c.key)
            ).first()
            if row is not None:  # None: another process announced it first
                started.append(alert)
        return started

    def _resolve(
        self, conn: Connection, keep: set[str], host: str | None, now: float, cluster: bool
    ) -> list[Alert]:
        c = alerts_firing.c
        mine = [and_(c.host.is_not(None), c.updated_at < now - self.stale_after)]
        if cluster:
            mine.append(c.host.is_(None))
        if host:
            mine.append(c.host == host)
        stmt = delete(alerts_firing).where(or_(*mine))
        if keep:
            stmt = stmt.where(c.key.not_in(keep))
        rows = conn.execute(stmt.returning(c.data)).scalars().all()
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
