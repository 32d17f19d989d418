"""Fan-out of a large turntable: split its frames into contiguous ranges rendered by child
jobs (on as many workers as are free), then merge: copy the children's frames into this
job and build the sprite sheets, videos, manifest and viewer once, over all of them."""

from __future__ import annotations

from typing import Any

from renderhouse.errors import JobFailed
from renderhouse.generators.context import Context
from renderhouse.generators.outcomes import FanOut
from renderhouse.generators.turntable.options import TurntableInput


def split_or_merge(ctx: Context, inp: TurntableInput, timings: Any) -> FanOut | dict[str, Any]:
    from renderhouse.generators.turntable.job import background_rgb, write_extras

    children = ctx.children()
    if not children:
        base = inp.model_dump(mode="json")
        return FanOut(
            [
                {**base, "fan_out": 1, "frame_range": [start, end], "formats": inp.frame_formats}
                for start, end in inp.fan_out_ranges()
            ]
        )
    failed = [c for c in children if c["state"] != "succeeded"]
    if failed:
        raise JobFailed(
            f"{len(failed)} of {len(children)} frame ranges did not succeed "
            f"(first: {failed[0]['state']}, {failed[0]['error_code']})",
            code="child_failed",
        )
    existing = ctx.artifacts.existing()
    total = inp.total_frames
    copied = 0
    for child in children:
        for name, ref in sorted(child["artifacts"].items()):
            if name.startswith("frames/") and name not in existing:
                ctx.artifacts.put_bytes(name, ctx.artifacts.read(ref), ref.content_type)
        start, end = child["input"]["frame_range"]
        copied += end - start
        ctx.raise_if_cancelled()
        ctx.progress(copied, total, f"merged {copied}/{total} frames")
    triangles = int((children[0]["result"] or {}).get("triangles", 0))
    with timings.phase("extras"):
        extras = write_extras(ctx, inp, background_rgb(inp), triangles, timings)
    return {
        "frames": total,
        "fan_out": len(children),
        "children": [c["id"] for c in children],
        "rendered": sum(int((c["result"] or {}).get("rendered", 0)) for c in children),
        "formats": inp.frame_formats,
        "artifacts": sorted(ctx.artifacts.existing()),
        **extras,
    }
