"""A pose job from an avatar id: the API resolves ``avatar:<id>`` (and a preset, and own
pose names) into references the job row keeps, the worker renders, and the avatar's usage
shows the job with the credits the ledger posted."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from renderhouse import ledger
from tests.api.conftest import Users, assert_error
from tests.pose.test_pose_api import _run_worker
from tests.pose_api.conftest import upload

pytestmark = pytest.mark.anyio


async def test_a_pose_job_from_an_avatar_and_its_usage(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, mannequin: Path, runtime, users: Users
) -> None:
    ref = await upload(alice, mannequin)
    preset = (
        await alice.post("/v1/presets", json={"name": "p", "settings": {"camera": "front"}})
    ).json()
    project = (
        await alice.post("/v1/avatar-projects", json={"name": "P", "preset_id": preset["id"]})
    ).json()
    avatar = (
        await alice.post(
            "/v1/avatars",
            json={"upload": ref, "project_id": project["id"], "bone_map": {"head": "head"}},
        )
    ).json()
    mine = await alice.post("/v1/poses", json={"name": "still", "avatar": avatar["id"]})
    assert mine.status_code == 201, mine.text
    spec = {"avatar": avatar["ref"], "poses": ["clap", "still"], "size": 96, "aa": "fast"}
    r = await alice.post("/v1/jobs", json={"kind": "pose", "input": spec})
    assert r.status_code == 201, r.text
    job = r.json()
    stored = job["input"]
    assert stored["avatar"] == ref  # a reference, never a server path
    assert stored["bone_map"] == {"head": "head"} and stored["camera"] == "front"
    assert stored["poses"] == ["clap"] and stored["custom_poses"][0]["name"] == "still"
    assert "/" not in json.dumps(stored["avatar"])
    usage = (await alice.get(f"/v1/avatars/{avatar['id']}/usage")).json()
    assert usage["total"] == 1 and usage["data"][0]["credits_reserved"] == 2
    assert usage["data"][0]["state"] == "queued" and usage["data"][0]["finished_at"] is None
    await asyncio.to_thread(_run_worker, runtime, job["id"])
    usage = (await alice.get(f"/v1/avatars/{avatar['id']}/usage")).json()
    use = usage["data"][0]
    assert use["job_id"] == job["id"] and use["state"] == "succeeded"
    assert use["poses"] == ["clap", "still"]
    assert (use["credits_reserved"], use["credits_posted"], use["credits_voided"]) == (2, 2, 0)
    assert use["created_at"].endswith("Z") and use["finished_at"].endswith("Z")
    names = {a["name"] for a in (await alice.get(f"/v1/jobs/{job['id']}/artifacts")).json()}
    assert {"poses/00-clap.png", "poses/01-still.png"} <= names
    with runtime.store.read() as conn:
        assert ledger.reconcile(conn).ok
    # Bob can neither use nor see it.
    other = {"kind": "pose", "input": {**spec, "poses": ["clap"]}}
    assert_error(await bob.post("/v1/jobs", json=other), 404)
    assert_error(await bob.get(f"/v1/avatars/{avatar['id']}/usage"), 404)


async def test_bad_references_are_refused_before_anything_is_reserved(
    alice: httpx.AsyncClient, runtime, users: Users
) -> None:
    with runtime.store.read() as conn:
        before = ledger.balance(conn, users.alice_id).available
    for given in (
        {"avatar": "avatar:nope", "poses": ["clap"]},
        {"avatar": "avatar:av_" + "0" * 24, "poses": ["clap"]},
        {"avatar": "upload:up_x", "poses": ["clap"], "preset": "preset:bad"},
        {"avatar": "avatar:av_" + "0" * 24, "poses": ["no-such-pose"]},
    ):
        r = await alice.post("/v1/jobs", json={"kind": "pose", "input": given})
        assert r.status_code in (404, 422), r.text
        assert_error(r, r.status_code)
    with runtime.store.read() as conn:
        assert ledger.balance(conn, users.alice_id).available == before


async def test_a_keyed_replay_with_an_avatar_reference_is_the_same_job(
    alice: httpx.AsyncClient, mannequin: Path
) -> None:
    ref = await upload(alice, mannequin)
    avatar = (await alice.post("/v1/avatars", json={"upload": ref})).json()
    body = {"kind": "pose", "input": {"avatar": avatar["ref"], "poses": ["clap"], "size": 64}}
    key = {"Idempotency-Key": "pose-once"}
    first = await alice.post("/v1/jobs", json=body, headers=key)
    again = await alice.post("/v1/jobs", json=body, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    other = {"kind": "pose", "input": {**body["input"], "size": 128}}
    assert_error(await alice.post("/v1/jobs", json=other, headers=key), 409)


async def test_concurrent_pose_jobs_never_overdraw(app, runtime, mannequin: Path) -> None:
    """Ten one-pose jobs at once by avatar id on 5 credits: five are accepted, five are
    refused with 402, nothing else moves (the seed's concurrent-deduction check)."""
    from renderhouse import accounts
    from tests.api.conftest import client_for

    with runtime.store.begin() as conn:
        carol = accounts.create_user(conn, "carol")
        key = accounts.create_key(conn, carol)
        ledger.grant(conn, carol.id, 5, "test")
    async with client_for(app, key) as c:
        ref = await upload(c, mannequin)
        avatar = (await c.post("/v1/avatars", json={"upload": ref})).json()
        body = {"kind": "pose", "input": {"avatar": avatar["ref"], "poses": ["clap"], "size": 64}}
        answers = await asyncio.gather(*(c.post("/v1/jobs", json=body) for _ in range(10)))
    codes = sorted(r.status_code for r in answers)
    assert codes == [201] * 5 + [402] * 5, [r.text for r in answers]
    with runtime.store.read() as conn:
        assert ledger.balance(conn, carol.id).available == 0
        assert ledger.reconcile(conn).ok
