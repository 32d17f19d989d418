"""The pose library over HTTP: the shipped poses and your own, categories, search,
thumbnails rendered once on the mannequin and cached; own poses captured from an avatar's
stored pose or a clip at a time, owner-scoped."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import httpx
import pytest

from renderhouse.avatars import thumbnails
from renderhouse.generators.pose.pose_format import categories, library
from tests.api.conftest import assert_error
from tests.pose.tiny_gltf import add_clip
from tests.pose_api.conftest import upload

pytestmark = pytest.mark.anyio


def _turn(angle: float) -> list[float]:
    """A rotation of ``angle`` degrees about Z as [x, y, z, w]."""
    h = math.radians(angle) / 2
    return [0.0, 0.0, math.sin(h), math.cos(h)]


def _angle(q: list[float]) -> float:
    return math.degrees(2 * math.acos(min(1.0, abs(q[3]))))


async def test_library_categories_and_search(alice: httpx.AsyncClient) -> None:
    body = (await alice.get("/v1/poses")).json()
    names = [p["name"] for p in body["data"]]
    assert names == list(library()) and len(names) >= 40
    assert all(p["source"] == "library" for p in body["data"])
    assert body["data"][0]["thumbnail_url"] == f"/v1/poses/{names[0]}/thumbnail.png"
    cats = (await alice.get("/v1/poses/categories")).json()["data"]
    assert [c["name"] for c in cats] == list(categories())
    assert sum(c["count"] for c in cats) == len(names)
    sitting = (await alice.get("/v1/poses", params={"category": "sitting"})).json()["data"]
    assert {p["name"] for p in sitting} == set(categories()["sitting"])
    found = (await alice.get("/v1/poses", params={"q": "Thumbs UP"})).json()["data"]
    assert [p["name"] for p in found] == ["thumbs-up"]
    assert (await alice.get("/v1/poses", params={"q": "no such pose"})).json()["data"] == []
    detail = (await alice.get("/v1/poses/clap")).json()
    assert detail["category"] == "gestures" and "rightUpperArm" in detail["pose"]["rotations"]
    assert_error(await alice.get("/v1/poses/nope"), 404)


async def test_a_thumbnail_renders_once_and_is_cached(
    alice: httpx.AsyncClient, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    r = await alice.get("/v1/poses/thumbs-up/thumbnail.png")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    cached = list((settings.data_dir / "cache").glob("pose-thumbnails-*/thumbs-up.png"))
    assert len(cached) == 1 and cached[0].read_bytes() == r.content
    from renderhouse.generators.pose import job

    def no_render(*_a: object, **_k: object) -> None:
        raise AssertionError("rendered again")

    monkeypatch.setattr(job, "run_pose", no_render)
    again = await alice.get("/v1/poses/thumbs-up/thumbnail.png")
    assert again.status_code == 200 and again.content == r.content


async def test_a_slow_render_answers_503_and_lands_in_the_cache(tmp_path: Path) -> None:
    """The route's wait is bounded; the render goes on and concurrent callers share it."""
    release = asyncio.Event()
    loop = asyncio.get_running_loop()
    calls = []
    target = tmp_path / "t.png"

    def render() -> Path:
        calls.append(1)
        asyncio.run_coroutine_threadsafe(release.wait(), loop).result(10)
        target.write_bytes(b"png")
        return target

    inflight: dict = {}
    with pytest.raises(thumbnails.StillRendering):
        await thumbnails.rendered(inflight, "k", render, wait=0.05)
    waiting = asyncio.create_task(thumbnails.rendered(inflight, "k", render, wait=5))
    await asyncio.sleep(0.05)
    release.set()
    assert await waiting == target and calls == [1] and inflight == {}


async def test_own_pose_from_an_avatar_and_from_a_clip(
    alice: httpx.AsyncClient, bob: httpx.AsyncClient, mannequin: Path, tmp_path: Path
) -> None:
    clip = add_clip(
        mannequin,
        tmp_path / "clip.glb",
        "raise",
        {"leftUpperArm": ([0.0, 1.0], [_turn(0), _turn(60)])},
    )
    avatar = await alice.post("/v1/avatars", json={"upload": await upload(alice, mannequin)})
    r = await alice.post(
        "/v1/poses", json={"name": "my-rest", "avatar": avatar.json()["id"], "category": "mine"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["source"] == "own" and r.json()["category"] == "mine"
    rest = (await alice.get("/v1/poses/my-rest")).json()["pose"]
    # The mannequin as stored is its rest pose: close to the reference (legs bent a little).
    assert "leftUpperArm" not in rest["rotations"]
    assert all(_angle(r["quaternion"]) < 5 for r in rest["rotations"].values())
    clip_ref = await upload(alice, clip)
    r = await alice.post(
        "/v1/poses",
        json={"name": "half-raise", "upload": clip_ref, "clip": "raise", "time": 0.5},
    )
    assert r.status_code == 201, r.text
    half = (await alice.get("/v1/poses/half-raise")).json()["pose"]
    assert _angle(half["rotations"]["leftUpperArm"]["quaternion"]) == pytest.approx(30, abs=0.5)
    mine = (await alice.get("/v1/poses", params={"category": "mine"})).json()["data"]
    assert [p["name"] for p in mine] == ["my-rest"]
    assert (await alice.get("/v1/poses", params={"q": "half"})).json()["data"][0]["source"] == "own"
    cats = {c["name"] for c in (await alice.get("/v1/poses/categories")).json()["data"]}
    assert {"mine", "custom"} <= cats
    thumb = await alice.get("/v1/poses/half-raise/thumbnail.png")
    assert thumb.status_code == 200 and thumb.content[:4] == b"\x89PNG"
    # Bob sees none of it.
    assert_error(await bob.get("/v1/poses/half-raise"), 404)
    assert_error(await bob.get("/v1/poses/half-raise/thumbnail.png"), 404)
    assert_error(await bob.delete("/v1/poses/half-raise"), 404)
    assert len((await bob.get("/v1/poses")).json()["data"]) == len(library())
    # Names are unique per owner and never shadow the library.
    dup = await alice.post("/v1/poses", json={"name": "my-rest", "avatar": avatar.json()["id"]})
    assert_error(dup, 409, "pose_exists")
    assert_error(await alice.post("/v1/poses", json={"name": "clap", "upload": clip_ref}), 409)
    assert_error(await alice.delete("/v1/poses/clap"), 403)
    assert (await alice.delete("/v1/poses/half-raise")).status_code == 204
    assert_error(await alice.get("/v1/poses/half-raise"), 404)


async def test_bad_captures_are_refused(
    alice: httpx.AsyncClient, mannequin: Path, tmp_path: Path
) -> None:
    clip = add_clip(
        mannequin, tmp_path / "c.glb", "raise", {"leftUpperArm": ([0, 1], [_turn(0)] * 2)}
    )
    ref = await upload(alice, clip)
    post = alice.post
    assert_error(
        await post("/v1/poses", json={"name": "a", "upload": ref, "clip": "nope"}),
        422,
        "unknown_clip",
    )
    assert_error(
        await post("/v1/poses", json={"name": "a", "upload": ref, "clip": "raise", "time": 5}),
        422,
        "bad_clip_time",
    )
    assert_error(await post("/v1/poses", json={"name": "a"}), 422, "pose_source")
    assert_error(await post("/v1/poses", json={"name": "Bad Name!", "upload": ref}), 422)
    fox = await upload(alice, Path(__file__).parents[1] / "assets" / "Fox.glb")
    assert_error(
        await post("/v1/poses", json={"name": "fox", "upload": fox, "clip": "Walk"}),
        422,
        "not_humanoid",
    )
    assert (await alice.get("/v1/poses", params={"category": "custom"})).json()["data"] == []


async def test_a_failed_render_is_a_503_not_a_500(
    alice: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_a: object) -> Path:
        raise RuntimeError("no EGL display")

    monkeypatch.setattr(thumbnails, "library_thumbnail", broken)
    err = assert_error(await alice.get("/v1/poses/salute/thumbnail.png"), 503, "thumbnail_failed")
    assert "renderhouse check" in err["message"]


async def test_a_slow_first_render_is_503_with_retry_after_then_served(
    alice: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import time

    png = tmp_path / "slow.png"

    def slow(*_a: object) -> Path:
        time.sleep(0.5)
        png.write_bytes(b"\x89PNG\r\n\x1a\nslow")
        return png

    monkeypatch.setattr(thumbnails, "library_thumbnail", slow)
    monkeypatch.setattr(thumbnails, "WAIT_SECONDS", 0.05)
    r = await alice.get("/v1/poses/salute/thumbnail.png")
    err = assert_error(r, 503, "thumbnail_rendering")
    assert r.headers["retry-after"].isdigit() and err["details"] == {"pose": "salute"}
    monkeypatch.setattr(thumbnails, "WAIT_SECONDS", 5.0)
    again = await alice.get("/v1/poses/salute/thumbnail.png")
    assert again.status_code == 200 and again.content.endswith(b"slow")
