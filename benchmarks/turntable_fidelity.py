"""Look comparison of frame 0: Renderhouse ``turntable`` vs the three.js baseline.

Both sides render frame 0 (angle 0) of each sample model at the same size, with the
same camera (the baseline page's defaults: elevation 15°, fov 35°, the model turns)
and the same lighting (ours: preset ``studio`` = ``shared/assets/env/studio_room.hdr``,
which is the baseline's own RoomEnvironment as a panorama). So differences measure
shading, tone mapping and anti-aliasing, not a different setup.

Metrics, per model:

* **silhouette** = pixels with alpha >= 128 in a render with a transparent background
  (both sides can do that, and alpha is exact, whereas thresholding the difference
  from a white background misses white or near-white surfaces such as the
  AlphaBlendModeTest plate). If a side cannot render transparent, the fallback is
  "differs from the background colour by more than 8/255 in any channel".
* **IoU** of the two silhouettes (framing / geometry agreement).
* **MAD** = mean absolute difference of the white-background renders, over the RGB
  channels, /255, averaged over object pixels = the union of the two silhouettes
  (so a missing or misplaced part counts). ``MAD∩`` is the same over the intersection
  only (shading agreement where both drew the object).

Writes a labelled contact sheet (ours | baseline | |diff| heatmap per model) and a
JSON file with the figures.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
from baseline import (
    DEFAULT_PEER_DIR,
    DEFAULT_SHARED,
    FIDELITY_MODELS,
    REPO_ROOT,
    baseline_frame_paths,
    generate_reference_frames,
    log,
)

ALPHA_CUT = 128
BG_THRESHOLD = 8
RENDERHOUSE = REPO_ROOT / ".venv" / "bin" / "renderhouse"


@dataclass
class Fidelity:
    model: str
    mad_union: float
    mad_intersection: float
    iou: float
    ours_coverage: float
    baseline_coverage: float
    silhouette_from: str


def parse_hex(colour: str) -> tuple[int, int, int]:
    """'#rrggbb' -> (r, g, b)."""
    m = re.fullmatch(r"#?([0-9a-fA-F]{6})", colour)
    if not m:
        raise argparse.ArgumentTypeError(f"bad colour {colour!r}, expected #rrggbb")
    v = int(m.group(1), 16)
    return (v >> 16) & 255, (v >> 8) & 255, v & 255


# ---------------------------------------------------------------------------
# Rendering ours
# ---------------------------------------------------------------------------


def first_frame(out_dir: Path) -> Path:
    """Frame 0 of a render directory, whatever the CLI names or nests it.

    Sorting the image files by name puts index 0 first for zero-padded names.
    """
    frames = sorted(
        p for p in out_dir.rglob("*.png") if "sheet" not in p.name and "sprite" not in p.name
    )
    if not frames:
        raise RuntimeError(f"no PNG frame under {out_dir}")
    return frames[0]


def render_ours(
    model: Path,
    dest: Path,
    *,
    size: int,
    frames: int,
    background: str | None,
    extra: list[str],
) -> Path:
    """Render with ``renderhouse turntable`` and copy its frame 0 to ``dest``.

    ``background=None`` means a transparent background (the CLI's default when no
    ``--background`` is given).
    """
    with tempfile.TemporaryDirectory(prefix="rh-fidelity-") as tmp:
        cmd = [
            str(RENDERHOUSE),
            "turntable",
            str(model),
            "-o",
            tmp,
            "--frames",
            str(frames),
            "--size",
            str(size),
            "--format",
            "png",
            *extra,
        ]
        if background is not None:
            cmd += ["--background", background]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"renderhouse failed on {model.name}: {res.stderr[-2000:]}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(first_frame(Path(tmp)), dest)
    return dest


# ---------------------------------------------------------------------------
# Metrics
# ---------------------------------------------------------------------------


def load_rgb_on(path: Path, bg: tuple[int, int, int]) -> np.ndarray:
    """HxWx3 float32 in 0..255, composited over ``bg`` if the file has alpha."""
    img = Image.open(path)
    if img.mode in ("RGBA", "LA", "P"):
        img = img.convert("RGBA")
        base = Image.new("RGBA", img.size, (*bg, 255))
        base.alpha_composite(img)
        img = base
    return np.asarray(img.convert("RGB"), dtype=np.float32)


def silhouette_alpha(path: Path) -> np.ndarray | None:
    """Alpha >= 50 % coverage, or None if the file has no alpha or is fully opaque."""
    img = Image.open(path)
    if "A" not in img.getbands():
        return None
    alpha = np.asarray(img.getchannel("A"))
    if alpha.min() == 255:
        return None
    return alpha >= ALPHA_CUT


def silhouette_bg(rgb: np.ndarray, bg: tuple[int, int, int]) -> np.ndarray:
    """Fallback silhouette: any channel further than BG_THRESHOLD from the background."""
    return (np.abs(rgb - np.asarray(bg, np.float32)) > BG_THRESHOLD).any(axis=2)


def compare(
    model: str,
    ours_white: Path,
    base_white: Path,
    ours_alpha: Path | None,
    base_alpha: Path | None,
    bg: tuple[int, int, int],
) -> tuple[Fidelity, np.ndarray]:
    """The metrics above, plus the per-pixel |diff| map (0..1) for the heatmap."""
    a = load_rgb_on(ours_white, bg)
    b = load_rgb_on(base_white, bg)
    if a.shape != b.shape:
        raise RuntimeError(f"{model}: size mismatch {a.shape} vs {b.shape}")
    sa = silhouette_alpha(ours_alpha) if ours_alpha else None
    sb = silhouette_alpha(base_alpha) if base_alpha else None
    source = "alpha"
    if sa is None or sb is None:
        sa, sb, source = silhouette_bg(a, bg), silhouette_bg(b, bg), "background threshold"
    union, inter = sa | sb, sa & sb
    diff = np.abs(a - b).mean(axis=2) / 255.0
    fid = Fidelity(
        model=model,
        mad_union=float(diff[union].mean()) if union.any() else float("nan"),
        mad_intersection=float(diff[inter].mean()) if inter.any() else float("nan"),
        iou=float(inter.sum() / union.sum()) if union.any() else float("nan"),
        ours_coverage=float(sa.mean()),
        baseline_coverage=float(sb.mean()),
        silhouette_from=source,
    )
    return fid, diff


# ---------------------------------------------------------------------------
# Contact sheet
# ---------------------------------------------------------------------------


def heatmap(diff: np.ndarray, scale: float = 0.25) -> Image.Image:
    """|diff| as black -> red -> yellow, saturating at ``scale`` (25 % of full range)."""
    t = np.clip(diff / scale, 0.0, 1.0)
    rgb = np.stack([np.clip(2 * t, 0, 1), np.clip(2 * t - 1, 0, 1), np.zeros_like(t)], axis=2)
    return Image.fromarray((rgb * 255).astype(np.uint8), "RGB")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    for name in ("DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    return ImageFont.load_default()


def contact_sheet(
    rows: list[tuple[Fidelity, Path, Path, np.ndarray]],
    thumb: int,
    dest: Path,
    bg: tuple[int, int, int] = (255, 255, 255),
) -> None:
    """One row per model: ours | baseline | heatmap, with the model's figures as label."""
    label_h, head_h, pad = 26, 30, 6
    width = 3 * thumb + 4 * pad
    height = head_h + len(rows) * (label_h + thumb + pad)
    sheet = Image.new("RGB", (width, height), (236, 236, 236))
    draw = ImageDraw.Draw(sheet)
    font, small = _font(18), _font(15)
    for col, title in enumerate(("Renderhouse (ours)", "three.js baseline", "|diff| (sat. 0.25)")):
        draw.text((pad + col * (thumb + pad), 6), title, fill=(0, 0, 0), font=font)
    y = head_h
    for fid, ours, base, diff in rows:
        draw.text(
            (pad, y + 4),
            f"{fid.model}   MAD {fid.mad_union:.3f}   MAD∩ {fid.mad_intersection:.3f}"
            f"   IoU {fid.iou:.3f}",
            fill=(0, 0, 0),
            font=small,
        )
        y += label_h
        tiles = [
            Image.fromarray(load_rgb_on(ours, bg).astype(np.uint8), "RGB"),
            Image.fromarray(load_rgb_on(base, bg).astype(np.uint8), "RGB"),
            heatmap(diff),
        ]
        for col, tile in enumerate(tiles):
            tile = tile.resize((thumb, thumb), Image.Resampling.LANCZOS)
            sheet.paste(tile, (pad + col * (thumb + pad), y))
        y += thumb + pad
    dest.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(dest, optimize=True)


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def print_table(results: list[Fidelity]) -> None:
    """Markdown table, ready for docs/benchmarks.md."""
    print("| model | MAD (union) | MAD (intersection) | IoU | coverage ours / baseline |")
    print("|---|---:|---:|---:|---:|")
    for r in results:
        print(
            f"| {r.model} | {r.mad_union:.3f} | {r.mad_intersection:.3f} | {r.iou:.3f} | "
            f"{100 * r.ours_coverage:.1f} % / {100 * r.baseline_coverage:.1f} % |"
        )
    if results:
        print(
            f"| **mean** | {np.mean([r.mad_union for r in results]):.3f} | "
            f"{np.mean([r.mad_intersection for r in results]):.3f} | "
            f"{np.mean([r.iou for r in results]):.3f} | |"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="shared/ folder")
    ap.add_argument("--peer-dir", type=Path, default=DEFAULT_PEER_DIR)
    ap.add_argument("--models", default=",".join(FIDELITY_MODELS))
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--frames", type=int, default=36, help="frames requested from ours")
    ap.add_argument("--background", default="#ffffff")
    ap.add_argument(
        "--baseline-frames",
        type=Path,
        default=Path("/tmp/baseline_frames"),
        help="cache of the baseline's frame-0 PNGs (rendered if missing)",
    )
    ap.add_argument("--work", type=Path, default=Path("/tmp/renderhouse-fidelity"))
    ap.add_argument(
        "--ours-args",
        default="--lighting studio",
        help="extra arguments for `renderhouse turntable` (default: %(default)s)",
    )
    ap.add_argument(
        "--no-transparent",
        action="store_true",
        help="do not render transparent variants; use the background-threshold silhouette",
    )
    ap.add_argument("--sheet", type=Path, default=REPO_ROOT / "docs/turntable_contact_sheet.png")
    ap.add_argument("--thumb", type=int, default=320, help="tile size in the contact sheet")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args(argv)

    shared = args.shared.resolve()
    models = args.models.split(",")
    bg = parse_hex(args.background)
    if args.background.lower() != "#ffffff":
        # The cached reference frames are white-background ones.
        args.baseline_frames = args.work / "baseline"
    generate_reference_frames(shared, args.peer_dir, args.baseline_frames, args.size, models)

    extra = args.ours_args.split()
    results, rows = [], []
    for name in models:
        model = shared / "assets" / f"{name}.glb"
        base_white, base_alpha = baseline_frame_paths(args.baseline_frames, name, args.size)
        ours_white = args.work / f"{name}_{args.size}_ours.png"
        ours_alpha: Path | None = args.work / f"{name}_{args.size}_ours_alpha.png"
        log(f"rendering {name} (ours)")
        render_ours(
            model, ours_white, size=args.size, frames=args.frames, background=args.background,
            extra=extra,
        )  # fmt: skip
        if args.no_transparent:
            ours_alpha = None
        else:
            render_ours(
                model, ours_alpha, size=args.size, frames=args.frames, background=None, extra=extra
            )
        fid, diff = compare(
            name, ours_white, base_white, ours_alpha, None if ours_alpha is None else base_alpha, bg
        )
        results.append(fid)
        rows.append((fid, ours_white, base_white, diff))
        log(f"  MAD {fid.mad_union:.4f}  MAD∩ {fid.mad_intersection:.4f}  IoU {fid.iou:.4f}")

    print_table(results)
    print(f"silhouettes from: {', '.join(sorted({r.silhouette_from for r in results}))}")
    contact_sheet(rows, args.thumb, args.sheet, bg)
    print(f"contact sheet: {args.sheet}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in results], indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
