"""Pose thumbnails for ``GET /v1/poses/{name}/thumbnail.png``: each pose rendered once on the
neutral mannequin and cached under the data directory (library poses by the generator's
``render_thumbnails``, own poses by a digest of the pose, so an edited pose renders afresh).

A thumbnail missing from the cache renders on this process's one render thread (an EGL
context is current in the thread that made it, so every render must come from the same
thread), while the event loop goes on; the request waits a bounded time and
otherwise answers 503 with Retry-After while the render finishes into the cache. Concurrent
requests for the same thumbnail share one render."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from renderhouse.avatars.documents import dump

log = logging.getLogger(__name__)

WAIT_SECONDS = 20.0


class StillRendering(Exception):
    """The wait ran out; the render goes on into the cache (the API answers 503)."""


class RenderFailed(Exception):
    """The renderer failed (GL, disk); logged (the API answers 503)."""


_RENDER_THREAD = ThreadPoolExecutor(1, thread_name_prefix="pose-thumbnails")
"""Process-wide because the GL context it holds is (no thread starts until a first render)."""


def library_thumbnail(cache: Path, name: str) -> Path:
    from renderhouse.generators.pose.thumbnails import render_thumbnails

    return render_thumbnails(cache, names=[name])[name]


def own_thumbnail_path(cache: Path, pose: dict[str, Any]) -> Path:
    from renderhouse.generators.pose.thumbnails import THUMBNAIL_SIZE, thumbnail_dir

    digest = hashlib.sha256(dump(pose).encode()).hexdigest()[:24]
    return thumbnail_dir(cache, THUMBNAIL_SIZE) / "own" / f"{digest}.png"


def own_thumbnail(cache: Path, pose: dict[str, Any]) -> Path:
    """The own pose on the mannequin, rendered as the library's thumbnails are."""
    from renderhouse.generators.local_context import LocalContext
    from renderhouse.generators.pose.job import run_pose
    from renderhouse.generators.pose.mannequin import build_mannequin
    from renderhouse.generators.pose.options import PoseInput
    from renderhouse.generators.pose.thumbnails import THUMBNAIL_SIZE

    out = own_thumbnail_path(cache, pose)
    if out.exists():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    mannequin = out.parent.parent / "mannequin.glb"
    if not mannequin.exists():
        build_mannequin(mannequin)
    work = Path(tempfile.mkdtemp(prefix="own-", dir=out.parent))
    try:
        inp = PoseInput.model_validate(
            {
                "avatar": str(mannequin),
                "custom_poses": [pose],
                "size": THUMBNAIL_SIZE,
                "contact_sheet": False,
            }
        )
        result = run_pose(LocalContext(work), inp).result
        (work / result["poses"][0]["files"][0]).replace(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


async def rendered(
    inflight: dict[str, asyncio.Future[Path]],
    key: str,
    render: Callable[[], Path],
    wait: float | None = None,
) -> Path:
    """``render()``'s file, run on the render thread and shared by concurrent callers;
    ``StillRendering`` after ``wait`` (``WAIT_SECONDS``), ``RenderFailed`` if it failed."""
    future = inflight.get(key)
    if future is None:
        future = asyncio.get_running_loop().run_in_executor(_RENDER_THREAD, render)
        inflight[key] = future

        def finished(done: asyncio.Future[Path]) -> None:
            inflight.pop(key, None)
            if not done.cancelled() and done.exception() is not None:
                log.error("thumbnail %s failed: %s", key, done.exception())

        future.add_done_callback(finished)
    try:
        return await asyncio.wait_for(asyncio.shield(future), wait or WAIT_SECONDS)
    except TimeoutError:
        raise StillRendering(key) from None
    except Exception as exc:
        raise RenderFailed(key) from exc
