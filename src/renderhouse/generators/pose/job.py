"""The pose run: load the avatar once, then per pose retarget → skin → render → encode →
store → checkpoint, and finally a contact sheet.

The avatar's scene (decoded textures included) and the GL context stay loaded in a warm
worker, so a batch pays set-up once and each pose costs a re-skin and one frame. A retried
attempt skips the poses its checkpoint lists (their artifacts exist), so a crash resumes at
the next pose. If the deadline nears, the poses delivered so far are returned as a success
and only they are charged (``Success.cost``); the rest of the reservation is released.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import numpy as np

from renderhouse.generators.context import Context
from renderhouse.generators.outcomes import Success
from renderhouse.generators.pose.avatar import Avatar, load_avatar
from renderhouse.generators.pose.options import CAMERAS, PoseInput, credits_per_pose
from renderhouse.generators.pose.pose_format import Pose, find_pose, parse_pose
from renderhouse.generators.pose.retarget import retarget
from renderhouse.scene.gltf_validate import ModelLimits

PORTRAIT_POSE = "stand-relaxed"
"""The mannequin's pose for the AI portrait's framing reference."""
_AVATARS: dict[tuple, tuple[Avatar, Any]] = {}
AVATAR_LIMITS = ModelLimits(max_file_bytes=64 << 20, max_triangles=2_000_000)
"""An avatar is re-skinned on the CPU for every pose, so it is held to a game-character budget."""
CACHE_SIZE = 3
"""Avatars kept loaded: two of the users' and the AI path's mannequin."""
CONTENT_TYPES = {"png": "image/png", "webp": "image/webp"}


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64] or "pose"


def _load(inp: PoseInput) -> tuple[Avatar, Any]:
    return load_posable(Path(inp.avatar), inp.bone_map, inp.size)


def load_posable(path: Path, bone_map: dict[str, str], size: int) -> tuple[Avatar, Any]:
    """An avatar and its loaded scene, cached by file identity and bone map."""
    from renderhouse.scene.gltf_scene import load_scene

    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, tuple(sorted(bone_map.items())))
    hit = _AVATARS.pop(key, None)
    if hit is None:
        avatar = load_avatar(path, AVATAR_LIMITS, bone_overrides=bone_map or None)
        side = 256
        while side < size and side < 2048:
            side *= 2
        scene = load_scene(avatar.model, max_texture_side=side, root=avatar.root)
        hit = (avatar, scene)
    _AVATARS[key] = hit
    while len(_AVATARS) > CACHE_SIZE:
        _AVATARS.pop(next(iter(_AVATARS)))
    return hit


def poses_of(inp: PoseInput) -> list[Pose]:
    """Library poses by name, then custom ones; refused up front, before anything renders."""
    poses = [find_pose(n) for n in inp.poses] + [parse_pose(p) for p in inp.custom_poses]
    seen: dict[str, int] = {}
    out = []
    for p in poses:  # unique artifact names even when a pose is asked for twice
        n = seen.get(p.name, 0)
        seen[p.name] = n + 1
        out.append(p if n == 0 else Pose(f"{p.name}-{n + 1}", *_rest(p)))
    return out


def _rest(p: Pose) -> tuple:
    return (p.category, p.title, p.tags, p.rotations, p.hips_offset)


def posed_scene(avatar: Avatar, scene: Any, pose: Pose) -> Any:
    from renderhouse.scene.gltf_scene import repose

    return repose(avatar.model, scene, retarget(avatar, pose).overrides, avatar.root)


def render_pose(avatar: Avatar, scene: Any, pose: Pose, inp: PoseInput) -> np.ndarray:
    """One posed frame as (H, W, 4) uint8."""
    from renderhouse.scene.environment import load_environment
    from renderhouse.scene.framing import frame_bounds
    from renderhouse.scene.renderer import RenderSettings, get_renderer

    posed = posed_scene(avatar, scene, pose)
    lo, hi = (np.array(b, np.float64) for b in posed.bounds)
    if inp.framing == "upper":
        lo[1] = max(lo[1], lo[1] + (hi[1] - lo[1]) * 0.45)
    renderer = get_renderer("gl")
    settings = RenderSettings(inp.size, inp.size, inp.background, 1.0, inp.aa, False)
    framing = frame_bounds(lo, hi, inp.size, inp.size, inp.fov, margin=1.02)
    prepared = renderer.prepare(posed, load_environment(inp.lighting), framing, settings)
    try:
        return prepared.render(math.radians(CAMERAS[inp.camera]), inp.elevation)
    finally:
        prepared.release()


def _encode(rgba: np.ndarray, fmt: str, background: str) -> bytes:
    if fmt == "png":
        from renderhouse.generators.turntable.job import encode_png_fast

        return encode_png_fast(rgba)
    from renderhouse.generators.turntable.frames import encode_frame

    return encode_frame(rgba, fmt, background=None)


def mannequin_reference(pose: Pose, inp: PoseInput, portrait: bool = False) -> bytes:
    """The neutral mannequin in ``pose``, shot as the job asks (a portrait: from the front,
    upper body), as the AI path's pose reference PNG."""
    from renderhouse.generators.pose.ai_pictures import mannequin_file
    from renderhouse.generators.turntable.job import encode_png_fast

    shot = inp.model_copy(update={"background": "#ffffff", "aa": "high"})
    if portrait:
        shot = shot.model_copy(update={"camera": "front", "framing": "upper", "elevation": 0.0})
    mannequin, scene = load_posable(mannequin_file(), {}, inp.size)
    return encode_png_fast(render_pose(mannequin, scene, pose, shot))


def _ai_pictures(ctx: Context, inp: PoseInput, saved: dict[str, Any], providers: Any) -> Any:
    from renderhouse.generators.pose.ai_pictures import AIPictures, default_provider, load_look

    if inp.ai is None:
        return None
    ai = inp.ai
    look = load_look(ai.reference) if ai.reference else None  # refused before any call
    existing = ctx.artifacts.existing()
    kept = saved.get("ai")
    kept = kept if isinstance(kept, dict) else {}
    entries = {k: v for k, v in kept.items() if isinstance(v, dict) and v.get("file") in existing}
    factory = providers or default_provider
    return AIPictures(
        ctx, lambda: factory(ai.provider, ai.model), ai.prompt, look, inp.size, entries
    )


def run_pose(ctx: Context, inp: PoseInput, providers: Any = None) -> Success:
    """``providers``: the AI path's ``(name, model) -> ImageProvider`` (tests pass clients
    of a local fake); by default configured from the environment."""
    from renderhouse.generators.pose.contact_sheet import contact_sheet
    from renderhouse.generators.pose.posed_glb import posed_glb

    t_start = time.perf_counter()
    poses = poses_of(inp)
    total = len(poses)
    ctx.progress(0, max(total, 1), "loading avatar")
    avatar, scene = _load(inp)
    saved = ctx.checkpoint.load() or {}
    existing = ctx.artifacts.existing()
    names = [slug(p.name) for p in poses]

    def outputs(i: int) -> list[str]:
        files = [f"poses/{i:02d}-{names[i]}.{f}" for f in inp.formats]
        return files + ([f"glb/{i:02d}-{names[i]}.glb"] if inp.glb else [])

    done = {
        i
        for i in saved.get("done", [])
        if isinstance(i, int) and 0 <= i < total and all(n in existing for n in outputs(i))
    }
    resumed = len(done)
    slowest = 0.0
    stopped_early = False
    ai = _ai_pictures(ctx, inp, saved, providers)
    portrait = bool(inp.ai and inp.ai.portrait)
    steps = total + portrait

    def save() -> None:
        ctx.checkpoint.save({"done": sorted(done), **({"ai": ai.entries} if ai else {})})

    try:
        if ai is not None and portrait and not ai.done("portrait"):
            ctx.progress(0, steps, "drawing the AI portrait")
            reference = mannequin_reference(find_pose(PORTRAIT_POSE), inp, portrait=True)
            ai.picture("portrait", "ai/portrait.png", reference, portrait=True)
            save()
        for i, pose in enumerate(poses):
            ai_due = ai is not None and not ai.done(str(i))
            if i in done and not ai_due:
                continue
            ctx.raise_if_cancelled()
            if time.time() + 2 * slowest + 1.0 > ctx.deadline:
                stopped_early = True
                break
            t0 = time.perf_counter()
            ctx.progress(len(done), steps, f"posing {pose.name}")
            if i not in done:
                rgba = render_pose(avatar, scene, pose, inp)
                for fmt, name in zip(inp.formats, outputs(i), strict=False):
                    data = _encode(rgba, fmt, inp.background)
                    ctx.artifacts.put_bytes(name, data, CONTENT_TYPES[fmt])
                if inp.glb:
                    data = posed_glb(avatar, retarget_overrides(avatar, pose))
                    ctx.artifacts.put_bytes(outputs(i)[-1], data, "model/gltf-binary")
                done.add(i)
                save()
            if ai is not None and ai_due:
                ctx.progress(len(done), steps, f"drawing the AI picture of {pose.name}")
                reference = mannequin_reference(pose, inp)
                ai.picture(str(i), f"ai/{i:02d}-{names[i]}.png", reference)
                save()
            ctx.progress(len(done), steps, f"posed {pose.name}")
            slowest = max(slowest, time.perf_counter() - t0)
    finally:
        if ai is not None:
            ai.close()
    delivered = sorted(done)
    result: dict[str, Any] = {
        "poses": [
            {
                "name": poses[i].name,
                "category": poses[i].category,
                "files": outputs(i),
                **({"ai": ai.entries[str(i)]} if ai and str(i) in ai.entries else {}),
            }
            for i in delivered
        ],
        "delivered": len(delivered),
        "requested": total,
        "resumed": resumed,
        "incomplete": stopped_early,
        "avatar": avatar.summary(),
        "size": [inp.size, inp.size],
    }
    if ai is not None:
        result["ai"] = {
            "provider": inp.ai.provider if inp.ai else None,
            "pictures": len(ai.entries),
            "portrait": (ai.entries.get("portrait") or {}).get("file"),
        }
        result["provider_cost_micro_usd"] = ai.spent
    if inp.contact_sheet and delivered:
        existing = ctx.artifacts.existing()
        tiles = [(poses[i].name, ctx.artifacts.read(existing[outputs(i)[0]])) for i in delivered]
        ctx.artifacts.put_bytes("contact_sheet.png", contact_sheet(tiles), "image/png")
        result["contact_sheet"] = "contact_sheet.png"
    result["seconds"] = round(time.perf_counter() - t_start, 3)
    return Success(result, cost=len(delivered) * credits_per_pose(inp.size))


def retarget_overrides(avatar: Avatar, pose: Pose) -> dict[int, dict[str, np.ndarray]]:
    return retarget(avatar, pose).overrides
