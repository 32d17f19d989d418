"""A schedule job's events into a real Radicale calendar through the platform: extraction
job -> ``POST /v1/calendars/{id}/sync`` -> ``calendar_sync`` job -> events in the calendar.
A calendar outage makes the sync retry with backoff while the extraction's result stays; a
re-sync changes nothing; the schedule job's metrics reach /metrics."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from renderhouse.generators.schedule.caldav_sync import open_calendar
from renderhouse.queue.jobs import QUEUED, SUCCEEDED, TERMINAL
from renderhouse.runtime import Runtime
from tests.calendars.conftest import Radicale, Working, job, working
from tests.schedule.corpus import make_sample

pytestmark = pytest.mark.anyio


async def _extraction(alice: httpx.AsyncClient, name: str, seed: int) -> str:
    pdf = make_sample("fixtures_shuffled", "en", seed).pdf
    r = await alice.post("/v1/uploads", files={"file": (name, pdf, "application/pdf")})
    assert r.status_code == 201, r.text
    body = {"kind": "schedule", "input": {"pdf": r.json()["ref"]}}
    r = await alice.post("/v1/jobs", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _connect(alice: httpx.AsyncClient, server: Radicale) -> str:
    body = {"kind": "caldav", "name": "Club", "url": server.url, "username": "alice",
            "password": "pw", "calendar": "Fixtures"}  # fmt: skip
    r = await alice.post("/v1/calendars", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _sync(alice: httpx.AsyncClient, cid: str, job_id: str) -> str:
    r = await alice.post(f"/v1/calendars/{cid}/sync", json={"job": job_id})
    assert r.status_code == 202, r.text
    out = r.json()
    assert out["kind"] == "calendar_sync" and out["state"] == "queued"
    assert out["source"] == "fixtures.pdf"  # the upload's name: stable across versions
    return str(out["id"])


def _calendar(server: Radicale) -> dict[str, tuple[str, str]]:
    cal = open_calendar(server.url, "alice", "pw", "Fixtures")
    return {
        str(o.icalendar_component["uid"]): (str(o.icalendar_component["summary"]), str(o.data))
        for o in cal.events()
    }


async def test_extraction_then_sync_then_resync(
    alice: httpx.AsyncClient, runtime: Runtime, caldav_server: Radicale, tmp_path: Path
) -> None:
    extraction = await _extraction(alice, "fixtures.pdf", 3)
    cid = await _connect(alice, caldav_server)
    first = await _sync(alice, cid, extraction)  # asked before the extraction ran: it waits
    async with working(runtime, tmp_path) as w:
        await w.until(lambda: job(runtime, first).state in TERMINAL)
        await _check_first_and_resync(alice, runtime, caldav_server, w, extraction, cid, first)


async def _check_first_and_resync(
    alice: httpx.AsyncClient, runtime: Runtime, caldav_server: Radicale, w: Working,
    extraction: str, cid: str, first: str,
) -> None:  # fmt: skip
    done = job(runtime, extraction)
    assert done.state == SUCCEEDED and done.result is not None
    titles = sorted(e["title"] for e in done.result["events"])
    synced = job(runtime, first)
    assert synced.state == SUCCEEDED, (synced.error_code, synced.error_message)
    assert synced.result is not None
    assert synced.result["created"] == len(titles) > 0 and synced.result["unchanged"] == 0
    before = _calendar(caldav_server)
    assert sorted(title for title, _ in before.values()) == titles

    again = await _sync(alice, cid, extraction)
    await w.until(lambda: job(runtime, again).state in TERMINAL)
    report = job(runtime, again).result
    assert report is not None
    assert (report["created"], report["updated"], report["deleted"]) == (0, 0, 0)
    assert report["unchanged"] == len(titles)
    assert _calendar(caldav_server) == before, "a re-sync must not rewrite anything"

    # the job's own view: GET /v1/jobs/{id} of the sync shows its report
    shown = (await alice.get(f"/v1/jobs/{again}")).json()
    assert shown["state"] == "succeeded" and shown["result"]["unchanged"] == len(titles)

    # the schedule job's metrics, through the worker's generic hook
    text = (await alice.get("/metrics")).text
    assert 'renderhouse_job_pages_total{kind="schedule"}' in text
    assert 'renderhouse_job_events_count{kind="schedule"}' in text
    assert 'renderhouse_job_confidence_bucket{kind="schedule",le="1.0"}' in text


async def test_outage_retries_and_keeps_the_extraction(
    alice: httpx.AsyncClient, runtime: Runtime, caldav_server: Radicale, tmp_path: Path
) -> None:
    extraction = await _extraction(alice, "fixtures.pdf", 5)
    async with working(runtime, tmp_path) as w:
        await _outage(alice, runtime, caldav_server, w, extraction)


async def _outage(
    alice: httpx.AsyncClient, runtime: Runtime, caldav_server: Radicale, w: Working,
    extraction: str,
) -> None:  # fmt: skip
    await w.until(lambda: job(runtime, extraction).state in TERMINAL)
    kept = job(runtime, extraction).result
    assert kept is not None and kept["events"]
    cid = await _connect(alice, caldav_server)

    caldav_server.stop()  # the calendar goes down
    sync = await _sync(alice, cid, extraction)
    await w.until(lambda: job(runtime, sync).attempt >= 1 and job(runtime, sync).state == QUEUED)
    failed = job(runtime, sync)
    assert failed.error_code == "calendar_unavailable", failed.error_message
    assert failed.run_at - failed.updated_at >= 1.0, "retried later, with backoff"
    attempts = runtime.queue.attempts(sync)
    assert attempts and attempts[0]["error_code"] == "calendar_unavailable"
    extraction_now = job(runtime, extraction)
    assert extraction_now.state == SUCCEEDED and extraction_now.result == kept

    caldav_server.start()  # back, on the same port and storage
    await w.until(lambda: job(runtime, sync).state in TERMINAL)
    done = job(runtime, sync)
    assert done.state == SUCCEEDED and done.attempt >= 2
    assert done.result is not None and done.result["created"] == len(kept["events"])
    assert len(_calendar(caldav_server)) == len(kept["events"])


async def test_sync_of_a_failed_extraction_is_final(
    alice: httpx.AsyncClient, runtime: Runtime, caldav_server: Radicale, tmp_path: Path
) -> None:
    r = await alice.post("/v1/uploads", files={"file": ("x.pdf", b"%PDF-1.4\n%%EOF\n",
                                                        "application/pdf")})  # fmt: skip
    r = await alice.post("/v1/jobs", json={"kind": "schedule", "input": {"pdf": r.json()["ref"]}})
    extraction = r.json()["id"]
    cid = await _connect(alice, caldav_server)
    r = await alice.post(f"/v1/calendars/{cid}/sync", json={"job": extraction})
    sync = r.json()["id"]
    async with working(runtime, tmp_path) as w:
        await w.until(lambda: job(runtime, sync).state in TERMINAL)
    ended = job(runtime, sync)
    assert ended.state == "failed" and ended.error_code == "extraction_failed"
    assert ended.attempts_spent == 1, "nothing to retry: the extraction failed"
    assert _calendar(caldav_server) == {}
