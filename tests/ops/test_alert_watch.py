"""Alert rules as a maintenance duty of every worker: evaluated once per slot across
processes, each start and resolve announced to the webhook once, however many run it."""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from renderhouse.ops import alert_watch, alerts, firing
from renderhouse.ops.alerts import Alert
from renderhouse.queue.clock import FakeClock
from renderhouse.runtime import Runtime
from renderhouse.settings import Settings
from renderhouse.store.schema import alerts_firing
from renderhouse.worker import registration
from renderhouse.worker.maintenance import Maintenance


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.bodies: list[dict[str, Any]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"

    def names(self, key: str) -> list[str]:
        return [a["name"] for body in self.bodies for a in body[key]]


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.bodies.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def runtime(db_url: str, tmp_path: Path, webhook: str | None, every: float) -> Runtime:
    return Runtime(
        Settings(
            database_url=db_url,
            data_dir=tmp_path / "data",
            alert_webhook_url=webhook,
            alert_check_seconds=every,
            disk_alert_percent=100,  # this machine's disk never fires here
        )
    )


@pytest.fixture
def two(db_url: str, tmp_path: Path, receiver: Receiver) -> Iterator[list[Runtime]]:
    """Two processes' worth of runtime (one engine each) on one database."""
    rts = [runtime(db_url, tmp_path, receiver.url, 0.125) for _ in range(2)]
    yield rts
    for rt in rts:
        rt.close()


def test_two_maintenance_loops_post_each_change_once(
    two: list[Runtime], receiver: Receiver
) -> None:
    loops = [Maintenance(rt.queue, rescue_every=60, extra=[alert_watch.duty(rt)]) for rt in two]

    async def run_until(done: Any, then: float) -> None:
        stopping = asyncio.Event()
        tasks = [asyncio.create_task(m.run(stopping)) for m in loops]
        deadline = time.monotonic() + 20
        while not done() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await asyncio.sleep(then)  # ten more slots: long enough for a duplicate to show
        stopping.set()
        await asyncio.gather(*tasks)

    registration.register(two[0].store, "dead-worker", ["noop"], time.time() - 3600)
    asyncio.run(run_until(lambda: receiver.bodies, 1.0))
    assert receiver.names("firing") == ["worker_heartbeat_lost"]
    assert receiver.names("resolved") == []
    assert [a["name"] for a in firing.firing(two[1].store)] == ["worker_heartbeat_lost"]

    registration.unregister(two[0].store, "dead-worker")
    asyncio.run(run_until(lambda: receiver.names("resolved"), 1.0))
    assert receiver.names("firing") == ["worker_heartbeat_lost"]
    assert receiver.names("resolved") == ["worker_heartbeat_lost"]
    assert len(receiver.bodies) == 2
    assert firing.firing(two[1].store) == []


def test_one_evaluation_per_slot_across_processes(
    two: list[Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(1_800_000_000.0)
    for rt in two:
        rt.queue.clock = clock
    evaluated: list[int] = []
    evaluate = alerts.evaluate
    monkeypatch.setattr(
        alerts, "evaluate", lambda rt, snap: evaluated.append(1) or evaluate(rt, snap)
    )
    checks = [alert_watch.duty(rt)[1] for rt in two]
    for step in range(5):
        for check in checks if step % 2 else reversed(checks):
            check()
        assert len(evaluated) == step + 1
        clock.advance(0.125)  # a binary fraction: slot arithmetic stays exact


def test_a_change_two_evaluators_see_at_once_is_announced_once(db_url: str, tmp_path: Path) -> None:
    """B evaluates while A's transaction has inserted the same alert but not committed:
    B read no row, yet must not announce it (A will); likewise for a resolve."""
    a, b = (runtime(db_url, tmp_path, None, 60) for _ in range(2))
    alert = Alert("queue_backlog", "warning", "the oldest noop job waited", {"kind": "noop"})
    key = hashlib.sha256(alert.fingerprint.encode()).hexdigest()
    row = {"key": key, "name": alert.name, "severity": alert.severity, "started_at": 1.0}
    data = json.dumps(dataclasses.asdict(alert))

    def b_evaluates(found: list[Alert]) -> tuple[threading.Thread, dict[str, list[Alert]]]:
        out: dict[str, list[Alert]] = {}
        notifier = alert_watch.notifier(b)
        thread = threading.Thread(target=lambda: out.update(notifier.update(found, "h", 2.0)))
        thread.start()
        time.sleep(0.5)  # B now waits on A's row (PostgreSQL) or on A's lock (SQLite)
        return thread, out

    try:
        with a.store.begin() as conn:
            conn.execute(alerts_firing.insert().values(**row, data=data, updated_at=1.0))
            thread, b_saw = b_evaluates([alert])
        thread.join(30)
        assert b_saw == {"started": [], "resolved": []}
        assert [f["name"] for f in firing.firing(b.store)] == ["queue_backlog"]

        with a.store.begin() as conn:
            conn.execute(alerts_firing.delete().where(alerts_firing.c.key == key))
            thread, b_saw = b_evaluates([])
        thread.join(30)
        assert b_saw == {"started": [], "resolved": []}
    finally:
        a.close()
        b.close()


def test_a_machines_own_alert_is_resolved_only_by_that_machine(db_url: str, tmp_path: Path) -> None:
    rt = runtime(db_url, tmp_path, None, 60)
    notifier = firing.Notifier(rt.store, None, stale_after=600)
    disk = Alert("disk_nearly_full", "critical", "95% full", {"path": "/d"}, 95, 90, host="a")
    now = 1_800_000_000.0
    try:
        assert notifier.update([disk], "a", now)["started"] == [disk]
        # Machine b evaluates the cluster and its own rules: a's disk is not its business.
        assert notifier.update([], "b", now + 60) == {"started": [], "resolved": []}
        assert notifier.update([disk], "a", now + 120)["started"] == []  # still firing
        assert notifier.update([], "b", now + 700)["resolved"] == []
        # a stopped confirming it: after stale_after anyone resolves it.
        assert notifier.update([], "b", now + 721)["resolved"] == [disk]
    finally:
        rt.close()
