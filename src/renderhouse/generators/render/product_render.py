"""The product, drawn by our renderer per the plan, cut out on a transparent background.

A 128² probe at the plan's camera measures how much of the frame the product spans; the
final render is sized so the product comes out at the pixel size the composite needs, so it
is resampled by a few percent at most (never blown up from a small render)."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from pathlib import Path

import numpy as np

from renderhouse.generators.render.plan import Plan
from renderhouse.scene.gltf_scene import Scene

PROBE = 128
MAX_RENDER = 2048
_SCENES: dict[str, Scene] = {}
SCENE_CACHE_SIZE = 2


def model_digest(path: Path) -> str:
    """SHA-256 of the model file: part of the plan-cache key and the scene-cache key."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_product(path: Path, digest: str, max_file_mb: int = 200) -> Scene:
    """Validate and load the model once per worker (the last few stay decoded)."""
    from renderhouse.scene.gltf_scene import load_scene
    from renderhouse.scene.gltf_validate import ModelLimits, validate_model

    if digest in _SCENES:
        _SCENES[digest] = _SCENES.pop(digest)  # most recent last
        return _SCENES[digest]
    model = validate_model(Path(path), ModelLimits(max_file_bytes=max_file_mb * 1024 * 1024))
    scene = load_scene(model, max_texture_side=2048)
    _SCENES[digest] = scene
    while len(_SCENES) > SCENE_CACHE_SIZE:
        _SCENES.pop(next(iter(_SCENES)))
    return scene


def alpha_box(rgba: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), exclusive ends, of the pixels with any coverage."""
    a = rgba[..., 3] > 0
    rows, cols = np.flatnonzero(a.any(axis=1)), np.flatnonzero(a.any(axis=0))
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _draw(scene: Scene, plan: Plan, size: int, aa: str) -> np.ndarray:
    from renderhouse.scene.environment import load_environment
    from renderhouse.scene.framing import frame_bounds
    from renderhouse.scene.renderer import RenderSettings, get_renderer

    renderer = get_renderer("gl")
    framing = frame_bounds(*scene.bounds, size, size, plan.fov)
    framing = replace(framing, distance=framing.radius * plan.distance)
    framing = replace(
        framing,
        near=max(framing.distance - framing.radius * 1.5, framing.distance / 1000),
        far=framing.distance + framing.radius * 1.5,
    )
    settings = RenderSettings(size, size, "transparent", plan.exposure, aa, False)
    prepared = renderer.prepare(scene, load_environment(plan.lighting), framing, settings)
    try:
        return prepared.render(math.radians(plan.azimuth), plan.elevation)
    finally:
        prepared.release()


def product_size(box: tuple[int, int, int, int], fill: float, width: int, height: int) -> float:
    """The scale that makes a box of this shape span ``fill`` of a width x height frame."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    return fill / max(bw / width, bh / height)


def render_product(scene: Scene, plan: Plan, width: int, height: int) -> np.ndarray:
    """The product cut-out (straight-alpha RGBA, cropped to its coverage), within a few
    percent of the size that fills ``plan.fill`` of a width x height frame."""
    probe = _draw(scene, plan, PROBE, "off")
    box = alpha_box(probe)
    if box is None:
        from renderhouse.errors import ModelError

        raise ModelError(
            "the model draws nothing from the planned camera (empty or fully transparent); "
            "check the file in a glTF viewer",
            code="empty_render",
        )
    k = product_size(box, plan.fill, width, height)
    size = min(MAX_RENDER, max(PROBE, math.ceil(PROBE * k * 1.02)))
    rgba = _draw(scene, plan, size, "high")
    final = alpha_box(rgba)
    assert final is not None
    x0, y0, x1, y1 = final
    return np.ascontiguousarray(rgba[y0:y1, x0:x1])
