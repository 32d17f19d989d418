"""Outputs of the turntable generator: frame encoding, sprite sheets, video, manifest,
viewer page. Everything is decoded back with Pillow/PyAV rather than trusted."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, features

from renderhouse.errors import InvalidInput
from renderhouse.generators.turntable import video as video_module
from renderhouse.generators.turntable.frames import CONTENT_TYPES, EXTENSIONS, encode_frame, flatten
from renderhouse.generators.turntable.manifest import build_manifest
from renderhouse.generators.turntable.sprites import build_sprite_sheets, plan_sheet
from renderhouse.generators.turntable.video import encode_video, encoder_available
from renderhouse.generators.turntable.viewer import render_viewer, write_viewer


def disc_frame(width: int = 64, height: int = 48, shade: int = 200) -> np.ndarray:
    """An opaque disc on a transparent background, like a rendered object."""
    y, x = np.mgrid[0:height, 0:width]
    inside = np.hypot(x - width / 2, y - height / 2) < min(width, height) / 3
    rgba = np.zeros((height, width, 4), np.uint8)
    rgba[..., 0] = shade
    rgba[..., 1] = (x * 255 // max(1, width - 1)).astype(np.uint8)
    rgba[..., 2] = 60
    rgba[..., 3] = np.where(inside, 255, 0)
    return rgba


def write_frames(directory: Path, count: int, size: tuple[int, int] = (64, 48)) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"frame_{i:03d}.png"
        path.write_bytes(encode_frame(disc_frame(*size, shade=i * 255 // count), "png"))
        paths.append(path)
    return paths


# ---- frames ------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["png", "webp", "avif", "jpeg"])
def test_encode_frame_round_trips_size_and_alpha(fmt: str) -> None:
    if fmt == "avif" and not features.check("avif"):
        pytest.skip("this Pillow build has no AVIF codec")
    rgba = disc_frame(64, 48)
    data = encode_frame(rgba, fmt, quality=90)
    with Image.open(io.BytesIO(data)) as im:
        assert im.size == (64, 48)
        assert Image.MIME[im.format] == CONTENT_TYPES[fmt]
        decoded = np.asarray(im.convert("RGBA"))
        has_alpha = "A" in im.getbands() or "transparency" in im.info
    if fmt == "jpeg":
        assert not has_alpha
        assert decoded[0, 0, :3].min() > 245  # transparent corner composited over white
    else:
        assert has_alpha
        assert decoded[0, 0, 3] == 0 and decoded[24, 32, 3] == 255
    if fmt == "png":
        assert np.array_equal(decoded, rgba)  # lossless
    assert EXTENSIONS[fmt].startswith(".")


def test_avif_is_refused_clearly_without_libavif(monkeypatch: pytest.MonkeyPatch) -> None:
    from renderhouse.generators.turntable import frames

    monkeypatch.setattr(frames.features, "check", lambda name: False)
    with pytest.raises(InvalidInput) as info:
        encode_frame(disc_frame(), "avif")
    assert info.value.code == "format_unavailable" and "AVIF" in info.value.message


def test_jpeg_uses_the_given_background() -> None:
    data = encode_frame(disc_frame(), "jpeg", background=(0, 0, 0))
    with Image.open(io.BytesIO(data)) as im:
        assert max(im.getpixel((0, 0))) < 10


def test_png_compress_level_only_changes_size() -> None:
    rgba = disc_frame(128, 128)
    fast, small = (
        encode_frame(rgba, "png", compress_level=1),
        encode_frame(rgba, "png", compress_level=9),
    )
    assert len(small) <= len(fast)
    for data in (fast, small):
        with Image.open(io.BytesIO(data)) as im:
            assert np.array_equal(np.asarray(im), rgba)


def test_flatten_is_exact_at_the_alpha_extremes() -> None:
    rgba = np.array([[[10, 20, 30, 255], [10, 20, 30, 0], [255, 0, 0, 128]]], np.uint8)
    out = flatten(rgba, (100, 150, 200))
    assert out[0, 0].tolist() == [10, 20, 30]
    assert out[0, 1].tolist() == [100, 150, 200]
    assert out[0, 2].tolist() == [178, 75, 100]


def test_encode_frame_rejects_bad_input() -> None:
    with pytest.raises(InvalidInput) as info:
        encode_frame(disc_frame(), "gif")
    assert info.value.code == "unknown_format"
    with pytest.raises(ValueError):
        encode_frame(np.zeros((4, 4, 3), np.uint8), "png")
    with pytest.raises(InvalidInput):
        encode_frame(disc_frame(), "webp", quality=101)


# ---- sprites -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "w", "h", "max_side"),
    [
        (36, 1024, 1024, 8192),
        (72, 1024, 1024, 8192),
        (144, 1024, 768, 8192),
        (5, 10, 10, 5),
        (1, 640, 480, 8192),
        (7, 100, 50, 10000),
        (24, 300, 900, 4096),
    ],
)
def test_plan_sheet_fits_every_frame_inside_max_side(
    count: int, w: int, h: int, max_side: int
) -> None:
    plan = plan_sheet(count, w, h, max_side)
    assert plan["columns"] * plan["rows"] >= count
    assert (plan["columns"] - 1) * plan["rows"] < count or plan["rows"] == 1  # no empty column
    assert plan["width"] <= max_side and plan["height"] <= max_side
    assert plan["frame_width"] <= w and plan["frame_height"] <= h
    # uniform scaling keeps the aspect ratio within a pixel of rounding
    assert abs(plan["frame_width"] / plan["frame_height"] - w / h) < 2 / plan["frame_height"] + 1e-9
    cells = {(f["x"], f["y"]) for f in plan["frames"]}
    assert len(cells) == count
    for f in plan["frames"]:
        assert f["x"] + plan["frame_width"] <= plan["width"]
        assert f["y"] + plan["frame_height"] <= plan["height"]
    json.dumps(plan)


def test_plan_sheet_keeps_full_resolution_when_it_fits() -> None:
    plan = plan_sheet(36, 1024, 1024, 8192)
    assert (plan["columns"], plan["rows"], plan["scale"]) == (6, 6, 1.0)
    assert plan["frames"][7] == {"x": 1024, "y": 1024}


def test_build_sprite_sheets_writes_one_decodable_sheet_per_row(tmp_path: Path) -> None:
    rows = [write_frames(tmp_path / "r0", 12), write_frames(tmp_path / "r1", 5)]
    sheets = build_sprite_sheets(rows, tmp_path / "sprites", max_side=200, fmt="webp")
    assert len(sheets) == 2
    for (path, layout), frames in zip(sheets, rows, strict=True):
        assert path.exists() and layout["file"] == path.name and path.suffix == ".webp"
        assert layout["frame_count"] == len(frames)
        json.loads(json.dumps(layout))
        with Image.open(path) as im:
            assert im.size == (layout["width"], layout["height"])
            assert max(im.size) <= 200
            sheet = np.asarray(im.convert("RGBA"))
        # the centre of each cell is the opaque disc, the corner transparent
        fw, fh = layout["frame_width"], layout["frame_height"]
        for spot in layout["frames"]:
            assert sheet[spot["y"] + fh // 2, spot["x"] + fw // 2, 3] > 200
            assert sheet[spot["y"] + 1, spot["x"] + 1, 3] < 30


def test_build_sprite_sheets_refuses_mixed_sizes(tmp_path: Path) -> None:
    frames = write_frames(tmp_path / "a", 2) + write_frames(tmp_path / "b", 1, size=(32, 32))
    with pytest.raises(InvalidInput, match="expected 64x48"):
        build_sprite_sheets([frames], tmp_path / "out", fmt="png")


# ---- video -------------------------------------------------------------------------


def probe(path: Path) -> tuple[str, str, int, int, int, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        return (
            container.format.name,
            stream.codec_context.name,
            stream.width,
            stream.height,
            len(frames),
            frames[0].format.name,
        )


def test_vp9_webm_has_every_frame_at_even_size(tmp_path: Path) -> None:
    frames = write_frames(tmp_path / "f", 12, size=(65, 47))  # odd on purpose
    out = encode_video(frames, tmp_path / "spin.webm", fps=12)
    container, codec, width, height, count, pix_fmt = probe(out)
    assert "webm" in container and codec == "vp9"
    assert (width, height, count, pix_fmt) == (66, 48, 12, "yuv420p")
    with av.open(str(out)) as c:
        assert c.duration / av.time_base == pytest.approx(1.0, abs=0.1)  # 12 frames @ 12 fps


def test_vp9_webm_of_a_full_spin_flushes_cleanly(tmp_path: Path) -> None:
    """Past libvpx's default 25-frame look-ahead the flush used to fail to mux."""
    frames = write_frames(tmp_path / "f", 36, size=(32, 32))
    _, _, _, _, count, _ = probe(encode_video(frames, tmp_path / "spin.webm", fps=24))
    assert count == 36


@pytest.mark.skipif(not encoder_available("libx264"), reason="PyAV built without libx264")
def test_h264_mp4_when_explicitly_requested(tmp_path: Path) -> None:
    frames = write_frames(tmp_path / "f", 8)
    out = encode_video(frames, tmp_path / "spin.mp4", codec="h264", fps=24, background=(0, 0, 0))
    container, codec, width, height, count, pix_fmt = probe(out)
    assert "mp4" in container and codec == "h264"
    assert (width, height, count, pix_fmt) == (64, 48, 8, "yuv420p")


def test_missing_encoder_is_codec_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frames = write_frames(tmp_path / "f", 2)
    monkeypatch.setattr(video_module, "encoder_available", lambda name: False)
    with pytest.raises(InvalidInput) as info:
        encode_video(frames, tmp_path / "x.mp4", codec="h264")
    assert info.value.code == "codec_unavailable"
    with pytest.raises(InvalidInput) as info:
        encode_video(frames, tmp_path / "x.avi", codec="mpeg2")
    assert info.value.code == "codec_unavailable"


def test_video_module_documents_the_gpl_opt_in() -> None:
    assert "GPL" in (video_module.__doc__ or "") and "opt-in" in (video_module.__doc__ or "")


# ---- manifest & viewer -----------------------------------------------------------------


def sample_manifest(**overrides: object) -> dict:
    args: dict = dict(
        model_name="Chair </script><b>",
        frames_by_row=[[f"frames/row{r}/frame_{i:03d}.png" for i in range(12)] for r in range(2)],
        elevations=[0.0, 30.0],
        size=(320, 240),
        formats=["png"],
        sprites=[{"file": "sprites/sprite_row0.webp", "columns": 4}],
        videos={"webm": "spin.webm"},
        poster="poster.png",
        direction="ccw",
        fps=24,
        extra={"seed": 7},
    )
    args.update(overrides)
    return build_manifest(**args)


def test_manifest_round_trips_json() -> None:
    manifest = sample_manifest()
    assert json.loads(json.dumps(manifest)) == manifest
    assert manifest["schema_version"] == 1
    assert manifest["generator"] == "renderhouse-turntable"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", manifest["created_at"])
    assert [r["elevation"] for r in manifest["rows"]] == [0.0, 30.0]
    assert manifest["rows"][1]["angles"][3] == 90.0
    assert manifest["size"] == {"width": 320, "height": 240}
    assert manifest["extra"] == {"seed": 7}


@pytest.mark.parametrize(
    "overrides",
    [
        {"elevations": [0.0]},
        {"frames_by_row": [[]], "elevations": [0.0]},
        {"direction": "sideways"},
        {"poster": "https://cdn.example/poster.png"},
        {"poster": "../outside.png"},
        {"videos": {"webm": "/abs/spin.webm"}},
        {"size": (0, 10)},
    ],
)
def test_manifest_rejects_inconsistent_or_unsafe_input(overrides: dict) -> None:
    with pytest.raises(InvalidInput):
        sample_manifest(**overrides)


def test_viewer_is_offline_and_escapes_the_manifest(tmp_path: Path) -> None:
    manifest = sample_manifest()
    out = write_viewer(manifest, tmp_path / "viewer.html")
    page = out.read_text(encoding="utf-8")
    assert page == render_viewer(manifest)
    assert "{{" not in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "http://" not in page and "https://" not in page
    assert "Chair &lt;/script&gt;&lt;b&gt;" in page
    embedded = re.search(
        r'<script type="application/json" id="rh-manifest">(.*?)</script>', page, re.S
    )
    assert embedded and json.loads(embedded.group(1)) == manifest
    assert "connect-src 'none'" in page and "script-src 'sha256-" in page


def test_video_colours_survive_the_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "solid.png"
    solid = np.zeros((32, 32, 4), np.uint8)
    solid[...] = (200, 60, 30, 255)
    path.write_bytes(encode_frame(solid, "png"))
    out = encode_video([path, path], tmp_path / "solid.webm", fps=2)
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.colorspace == 1  # tagged BT.709
        frame = next(container.decode(stream))
        pixel = frame.to_ndarray(format="rgb24")[16, 16].astype(int)
    assert np.abs(pixel - [200, 60, 30]).max() <= 4
