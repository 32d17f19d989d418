"""Library thumbnails: every pose rendered once on the neutral mannequin, cached on disk.

The cache directory is keyed by a digest of the library and the thumbnail settings, so an
edited library or a new size renders afresh and an unchanged one is never rendered twice.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from renderhouse.generators.pose.pose_format import LIBRARY_FILE, library

THUMBNAIL_SIZE = 256


def thumbnail_dir(cache: Path, size: int = THUMBNAIL_SIZE) -> Path:
    digest = hashlib.sha256(LIBRARY_FILE.read_bytes() + f"|{size}|v1".encode()).hexdigest()
    return Path(cache) / f"pose-thumbnails-{digest[:16]}"


def render_thumbnails(
    cache: Path, size: int = THUMBNAIL_SIZE, names: list[str] | None = None
) -> dict[str, Path]:
    """Pose name → PNG path, rendering only what the cache lacks."""
    from renderhouse.generators.local_context import LocalContext
    from renderhouse.generators.pose.job import run_pose
    from renderhouse.generators.pose.mannequin import build_mannequin
    from renderhouse.generators.pose.options import MAX_BATCH, PoseInput

    out = thumbnail_dir(cache, size)
    wanted = names if names is not None else list(library())
    paths = {n: out / f"{n}.png" for n in wanted}
    missing = [n for n, p in paths.items() if not p.exists()]
    if missing:
        out.mkdir(parents=True, exist_ok=True)
        avatar = out / "mannequin.glb"
        if not avatar.exists():
            build_mannequin(avatar)
        work = out / "work"
        for k in range(0, len(missing), MAX_BATCH):
            batch = missing[k : k + MAX_BATCH]
            inp = PoseInput.model_validate(
                {"avatar": str(avatar), "poses": batch, "size": size, "contact_sheet": False}
            )
            result = run_pose(LocalContext(work), inp).result
            for pose, entry in zip(batch, result["poses"], strict=True):
                (work / entry["files"][0]).replace(paths[pose])
        (out / "index.json").write_text(
            json.dumps({n: p.name for n, p in paths.items() if p.exists()}, indent=1)
        )
    return paths
