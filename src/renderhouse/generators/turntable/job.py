"""The turntable run: validate → load → light → render every frame → encode → extras.

Frames are encoded on a small thread pool while the next frame renders (zlib and the image
codecs release the GIL), written as artifacts as soon as they are encoded, and recorded in the
checkpoint one by one, so a retried attempt only renders what is missing. The renderer, its GL
context and prefiltered lighting are process-wide, so a warm worker skips all set-up.
"""

from __future__ import annotations

import tempfile
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from renderhouse.generators.context import Context
from renderhouse.generators.turntable.options import TurntableInput

_POOL: list[ThreadPoolExecutor] = []
MAX_IN_FLIGHT = 3
# The last few loaded scenes, keyed by file identity and load options: a worker often gets the
# same model again (fan-out children, retries, other elevations or formats), and decoding its
# textures is most of a warm job's set-up (~150 ms CPU for DamagedHelmet at 512²).
_SCENES: dict[tuple, Any] = {}
SCENE_CACHE_SIZE = 2


class Timings:
    """Wall time per phase, so the CLI's ``--timings`` shows where a job spends it."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - t0)

    def add(self, name: str, seconds: float) -> None:
        self.phases[name] = self.phases.get(name, 0.0) + seconds

    def as_dict(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.phases.items()}


def _pool() -> ThreadPoolExecutor:
    if not _POOL:
        _POOL.append(ThreadPoolExecutor(max_workers=2, thread_name_prefix="turntable-encode"))
    return _POOL[0]


def frame_name(row: int, index: int, fmt: str) -> str:
    from renderhouse.generators.turntable.frames import EXTENSIONS

    return f"frames/row{row}_{index:04d}{EXTENSIONS[fmt]}"


def _texture_side(width: int, height: int) -> int:
    """Textures never need more texels than the frame has pixels across (next power of 2)."""
    side = 256
    while side < max(width, height) and side < 4096:
        side *= 2
    return side


def encode_png_fast(rgba: Any, level: int = 1) -> bytes:
    """RGBA8 PNG (ISO/IEC 15948: one IDAT, filter type 2 "Up" on every row) in one
    ``zlib.compress`` call. Pillow's PNG writer feeds zlib in 64 KiB pieces, each needing the
    GIL, which the render thread holds while llvmpipe draws; one call releases it throughout,
    so encoding really runs beside the next frame's render."""
    import struct
    import zlib

    import numpy as np

    h, w = rgba.shape[:2]
    rows = np.empty((h, w * 4 + 1), np.uint8)
    rows[:, 0] = 2
    flat = rgba.reshape(h, w * 4)
    rows[0, 1:] = flat[0]
    np.subtract(flat[1:], flat[:-1], out=rows[1:, 1:])

    def chunk(tag: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(tag + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)
    return b"".join(
        [
            b"\x89PNG\r\n\x1a\n",
            chunk(b"IHDR", header),
            chunk(b"IDAT", zlib.compress(rows.tobytes(), level)),
            chunk(b"IEND", b""),
        ]
    )


def _encode_and_store(
    ctx: Context,
    rgba: Any,
    row: int,
    index: int,
    formats: list[str],
    bg: tuple[int, int, int] | None,
    timings: Timings,
) -> list[str]:
    from renderhouse.generators.turntable.frames import CONTENT_TYPES, encode_frame

    t0 = time.perf_counter()
    names = []
    for fmt in formats:
        data = encode_png_fast(rgba) if fmt == "png" else encode_frame(rgba, fmt, background=bg)
        name = frame_name(row, index, fmt)
        ctx.artifacts.put_bytes(name, data, CONTENT_TYPES[fmt])
        names.append(name)
    timings.add("encode (pool threads)", time.perf_counter() - t0)
    return names


def background_rgb(inp: TurntableInput) -> tuple[int, int, int] | None:
    """The solid colour frames go onto where a format has no alpha (JPEG, video)."""
    from renderhouse.scene.renderer import parse_background

    mode, top, _ = parse_background(inp.background)
    if mode == "transparent":
        return None
    r, g, b = (round(c * 255) for c in top[:3])
    return (r, g, b)


def _scene_key(model: Any, options: dict[str, Any]) -> tuple | None:
    """Identity of a loaded scene: the model file and every external file it references
    (path, size, mtime), and the load options; None if a file cannot be stat'ed."""
    from urllib.parse import unquote

    path = Path(model.path)
    files = [path]
    for kind in ("buffers", "images"):
        for item in model.doc.get(kind) or []:
            uri = item.get("uri") if isinstance(item, dict) else None
            if isinstance(uri, str) and not uri.startswith("data:"):
                files.append(path.parent / unquote(uri))
    ident = []
    try:
        for f in files:
            st = f.stat()
            ident.append((str(f.resolve()), st.st_size, st.st_mtime_ns))
    except OSError:
        return None
    return (*ident, *sorted(options.items()))


def run_turntable(ctx: Context, inp: TurntableInput, timings: Timings | None = None) -> dict:
    from renderhouse.scene.environment import load_environment
    from renderhouse.scene.framing import frame_bounds, spin_angles
    from renderhouse.scene.gltf_scene import load_scene
    from renderhouse.scene.gltf_validate import ModelLimits, validate_model
    from renderhouse.scene.renderer import RenderSettings, choose_backend, get_renderer

    timings = timings or Timings()
    cpu0 = time.process_time()
    if inp.fan_out > 1 and inp.frame_range is None:
        from renderhouse.generators.turntable.fan_out import split_or_merge

        return split_or_merge(ctx, inp, timings)
    width, height = inp.frame_size
    elevations = inp.elevations
    n = inp.frames
    first, last = inp.frame_range or (0, inp.total_frames)
    total = last - first
    ctx.progress(0, total, "validating model")
    renderer = get_renderer(inp.renderer)  # refuses an unavailable backend before any work
    with timings.phase("validate"):
        limits = ModelLimits(
            max_file_bytes=inp.max_file_mb * 1024 * 1024,
            max_triangles=inp.max_triangles,
            max_texture_pixels=inp.max_texture_pixels,
        )
        model = validate_model(Path(inp.model), limits)
    for warning in model.warnings:  # read leniently (e.g. an unpadded GLB chunk): say so
        ctx.log.warning("model: %s", warning)
        ctx.progress(0, total, f"warning: {warning}")
    backend = choose_backend(inp.renderer, list(model.doc.get("extensionsUsed") or []))
    if backend != renderer.name:
        renderer = get_renderer(backend)
    with timings.phase("load + decode | GL start-up"):
        options = dict(
            max_texture_side=_texture_side(width, height),
            animation=inp.animation if inp.animation_time is not None else None,
            animation_time=inp.animation_time or 0.0,
            z_up=inp.up == "z",
        )
        key = _scene_key(model, options)
        scene = _SCENES.pop(key, None) if key is not None else None
        if scene is None:
            scene = load_scene(model, **options, while_decoding=getattr(renderer, "warm_up", None))
        if key is not None:
            _SCENES[key] = scene  # most recent last
            while len(_SCENES) > SCENE_CACHE_SIZE:
                _SCENES.pop(next(iter(_SCENES)))
    with timings.phase("environment"):
        env = load_environment(inp.lighting)
    settings = RenderSettings(width, height, inp.background, inp.exposure, inp.aa, inp.shadow)
    framing = frame_bounds(*scene.bounds, width, height, inp.fov)
    with timings.phase("gpu upload"):
        prepared = renderer.prepare(scene, env, framing, settings)

    formats = inp.frame_formats
    bg_rgb = background_rgb(inp)
    saved = ctx.checkpoint.load() or {}
    existing = ctx.artifacts.existing()
    done: set[int] = {
        k
        for k in saved.get("done", [])
        if isinstance(k, int)
        and first <= k < last
        and all(frame_name(k // n, k % n, f) in existing for f in formats)
    }
    skipped = len(done)
    angles = spin_angles(n, inp.direction, inp.start_angle)
    pending: deque[tuple[int, Future]] = deque()
    pool = _pool()
    rendered = 0

    def finish_one() -> None:
        k, fut = pending.popleft()
        fut.result()
        done.add(k)
        ctx.checkpoint.save({"done": sorted(done)})
        ctx.progress(len(done), total, f"frame {len(done)}/{total}")

    try:
        for k in range(first, last):
            if k in done:
                continue
            ctx.raise_if_cancelled()
            row, i = divmod(k, n)
            t0 = time.perf_counter()
            rgba = prepared.render(angles[i], elevations[row])
            timings.add("render + readback", time.perf_counter() - t0)
            rendered += 1
            pending.append(
                (k, pool.submit(_encode_and_store, ctx, rgba, row, i, formats, bg_rgb, timings))
            )
            while pending and (len(pending) >= MAX_IN_FLIGHT or pending[0][1].done()):
                finish_one()
        t0 = time.perf_counter()
        while pending:
            finish_one()
        timings.add("wait for encoders", time.perf_counter() - t0)
    finally:
        for _, fut in pending:
            fut.cancel()
        prepared.release()

    extras: dict[str, Any] = {}
    if inp.frame_range is None:
        with timings.phase("extras"):
            extras = write_extras(ctx, inp, bg_rgb, scene.triangles, timings)
    return {
        "frames": total,
        "rendered": rendered,
        "resumed": skipped,
        "size": [width, height],
        "triangles": scene.triangles,
        "renderer": renderer.name,
        "formats": formats,
        "artifacts": sorted(ctx.artifacts.existing()),
        **extras,
        "timings": timings.as_dict(),
        "cpu_seconds": round(time.process_time() - cpu0, 3),  # every thread of this process
        **({"warnings": model.warnings} if model.warnings else {}),
    }


def _frame_files(ctx: Context, names: list[str], work: Path) -> list[Path]:
    """The frames the sprite and video builders read, fetched from artifact storage into
    the job's scratch directory (storage may be remote; the frames may be a child's)."""
    existing = ctx.artifacts.existing()
    paths = []
    for name in names:
        target = work / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(ctx.artifacts.read(existing[name]))
        paths.append(target)
    return paths


def write_extras(
    ctx: Context,
    inp: TurntableInput,
    bg_rgb: tuple[int, int, int] | None,
    triangles: int,
    timings: Timings,
) -> dict[str, Any]:
    """Sprite sheets, videos, manifest and viewer, from the frame artifacts already stored."""
    formats = inp.frame_formats
    frames_by_row = [
        [frame_name(r, i, formats[0]) for i in range(inp.frames)]
        for r in range(len(inp.elevations))
    ]
    return _extras(ctx, inp, frames_by_row, bg_rgb, triangles, timings)


def _extras(
    ctx: Context,
    inp: TurntableInput,
    frames_by_row: list[list[str]],
    bg_rgb: tuple[int, int, int] | None,
    triangles: int,
    timings: Timings,
) -> dict:
    wanted = set(inp.formats)
    out: dict[str, Any] = {}
    if not wanted & {"sprite", "webm", "mp4", "viewer"}:
        return out
    with tempfile.TemporaryDirectory(prefix="turntable-") as tmp:
        work = Path(tmp)
        needs_files = wanted & {"sprite", "webm", "mp4"}
        paths_by_row = (
            [_frame_files(ctx, row, work) for row in frames_by_row] if needs_files else []
        )
        sprites_meta = None
        if "sprite" in wanted:
            from renderhouse.generators.turntable.sprites import build_sprite_sheets

            with timings.phase("sprites"):
                sheets = build_sprite_sheets(paths_by_row, work / "sprites")
                sprites_meta = []
                for path, layout in sheets:
                    name = f"sprites/{path.name}"
                    ctx.artifacts.put_file(name, path, _content_type(path))
                    sprites_meta.append({**layout, "file": name})
            out["sprites"] = [s["file"] for s in sprites_meta]
        videos = {}
        for fmt, codec in (("webm", "vp9"), ("mp4", "h264")):
            if fmt in wanted:
                from renderhouse.generators.turntable.video import encode_video

                with timings.phase(f"video {fmt}"):
                    path = encode_video(
                        paths_by_row[0],
                        work / f"turntable.{fmt}",
                        codec,
                        inp.fps,
                        background=bg_rgb,
                    )
                    ctx.artifacts.put_file(path.name, path, f"video/{fmt}")
                videos[fmt] = path.name
        out["videos"] = videos or None
        if "viewer" in wanted or sprites_meta or videos:
            from renderhouse.generators.turntable.manifest import build_manifest
            from renderhouse.generators.turntable.viewer import write_viewer

            manifest = build_manifest(
                model_name=Path(inp.model).stem,
                frames_by_row=frames_by_row,
                elevations=inp.elevations,
                size=inp.frame_size,
                formats=inp.frame_formats,
                sprites=sprites_meta,
                videos=videos or None,
                poster=frames_by_row[0][0],
                direction=inp.direction,
                fps=inp.fps,
                extra={"triangles": triangles, "lighting": inp.lighting},
                background=inp.background if inp.background.startswith("#") else None,
            )
            import json

            ctx.artifacts.put_bytes(
                "manifest.json", json.dumps(manifest, indent=1).encode(), "application/json"
            )
            out["manifest"] = "manifest.json"
            if "viewer" in wanted:
                path = write_viewer(manifest, work / "viewer.html")
                ctx.artifacts.put_file("viewer.html", path, "text/html")
                out["viewer"] = "viewer.html"
    return out


def _content_type(path: Path) -> str:
    return {
        ".png": "image/png",
        ".webp": "image/webp",
        ".avif": "image/avif",
        ".jpg": "image/jpeg",
    }.get(path.suffix, "application/octet-stream")
