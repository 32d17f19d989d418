"""End-to-end turntable renders of every sample model in ``tests/assets`` on the real GL backend.

References under ``references/`` are our own earlier renders (frame 0, 128², transparent);
regenerate them deliberately with ``RENDERHOUSE_UPDATE_REFERENCES=1`` after a look change.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from renderhouse.generators.context import Cancelled
from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.turntable import TurntableGenerator
from renderhouse.generators.turntable.job import encode_png_fast

ASSETS = Path(__file__).resolve().parents[1] / "assets"
REFERENCES = Path(__file__).resolve().parent / "references"
MODELS = sorted(p.stem for p in ASSETS.glob("*.glb"))
SIZE = 128
UPDATE = os.environ.get("RENDERHOUSE_UPDATE_REFERENCES") == "1"

assert MODELS, f"no sample models in {ASSETS}: the repository ships them (tests/assets)"


@pytest.fixture(scope="module")
def generator() -> TurntableGenerator:
    return TurntableGenerator()  # one instance, like a worker: GL context stays warm


def run(generator, out: Path, model: str, **options):
    inp = generator.parse_input(
        {"model": str(ASSETS / f"{model}.glb"), "size": SIZE, "frames": 4, **options}
    )
    ctx = LocalContext(out, checkpoint_file=out / "checkpoint.json")
    return ctx, generator.run(ctx, inp)


def load(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"))


@pytest.mark.parametrize("model", MODELS)
def test_sample_renders_framed_and_matches_reference(generator, tmp_path: Path, model: str):
    _, result = run(generator, tmp_path, model)
    assert result["rendered"] == 4
    frames = [load(tmp_path / f"frames/row0_{i:04d}.png") for i in range(4)]
    for i, rgba in enumerate(frames):
        assert rgba.shape == (SIZE, SIZE, 4)
        mask = rgba[..., 3] > 0
        assert mask.mean() > 0.01, f"{model} frame {i} is empty"
        # framed: nothing touches the border in any frame of the spin...
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
        # ...and the object sits near the middle (perspective and elevation move it a little)
        ys, xs = np.nonzero(mask)
        centre = ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2)
        assert abs(centre[0] - SIZE / 2) < 0.12 * SIZE and abs(centre[1] - SIZE / 2) < 0.15 * SIZE
    # the spin really turns the model (frame 1 differs from frame 0) unless it is symmetric
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).mean() > 0.05

    reference = REFERENCES / f"{model}_{SIZE}.png"
    if UPDATE or not reference.exists():
        if not UPDATE:
            pytest.fail(
                f"missing reference {reference.name}; run with "
                "RENDERHOUSE_UPDATE_REFERENCES=1 to create it"
            )
        REFERENCES.mkdir(exist_ok=True)
        Image.fromarray(frames[0]).save(reference)
    expected = load(reference).astype(np.float32)
    got = frames[0].astype(np.float32)
    # premultiply so invisible colour under alpha 0 does not count
    diff = np.abs(got[..., :3] * got[..., 3:] - expected[..., :3] * expected[..., 3:]) / 255
    assert diff.mean() <= 3.0, f"{model}: mean difference {diff.mean():.2f}/255 vs reference"
    assert np.abs(got[..., 3] - expected[..., 3]).mean() <= 3.0


def test_solid_background_and_formats(generator, tmp_path: Path):
    _, result = run(
        generator, tmp_path, "BoomBox", background="#336699", formats=["png", "jpeg", "viewer"]
    )
    rgba = load(tmp_path / "frames/row0_0000.png")
    assert (rgba[0, 0] == [0x33, 0x66, 0x99, 255]).all()
    assert (rgba[..., 3] == 255).all()
    assert (tmp_path / "frames/row0_0003.jpg").is_file()
    assert result["viewer"] == "viewer.html" and (tmp_path / "manifest.json").is_file()


def test_rows_of_elevations(generator, tmp_path: Path):
    _, result = run(generator, tmp_path, "WaterBottle", elevation=[0, 45], frames=2)
    assert result["frames"] == 4
    low, high = load(tmp_path / "frames/row0_0000.png"), load(tmp_path / "frames/row1_0000.png")
    assert np.abs(low.astype(int) - high.astype(int)).mean() > 1.0


def test_resume_renders_only_missing_frames(generator, tmp_path: Path):
    marker = encode_png_fast(np.zeros((SIZE, SIZE, 4), np.uint8))
    ctx = LocalContext(tmp_path, checkpoint_file=tmp_path / "checkpoint.json")
    for i in (0, 1):  # an earlier attempt finished frames 0 and 1
        ctx.artifacts.put_bytes(f"frames/row0_{i:04d}.png", marker, "image/png")
    ctx.checkpoint.save({"done": [0, 1]})
    inp = generator.parse_input({"model": str(ASSETS / "Corset.glb"), "size": SIZE, "frames": 4})
    result = generator.run(ctx, inp)
    assert (result["rendered"], result["resumed"]) == (2, 2)
    assert (tmp_path / "frames/row0_0000.png").read_bytes() == marker  # not re-rendered
    assert load(tmp_path / "frames/row0_0002.png")[..., 3].any()
    assert ctx.checkpoint.load() == {"done": [0, 1, 2, 3]}


def test_checkpoint_without_artifacts_is_not_trusted(generator, tmp_path: Path):
    ctx = LocalContext(tmp_path)
    ctx.checkpoint.save({"done": [0, 1, 2]})  # says done, but no frame files exist
    inp = generator.parse_input({"model": str(ASSETS / "Fox.glb"), "size": SIZE, "frames": 3})
    assert generator.run(ctx, inp)["rendered"] == 3


def test_cancel_stops_before_rendering(generator, tmp_path: Path):
    ctx = LocalContext(tmp_path)
    ctx.cancel()
    inp = generator.parse_input({"model": str(ASSETS / "Fox.glb"), "size": SIZE, "frames": 3})
    with pytest.raises(Cancelled):
        generator.run(ctx, inp)
    assert not (tmp_path / "frames").exists()


def test_fast_png_round_trips():
    rng = np.random.default_rng(1)
    rgba = rng.integers(0, 256, (37, 53, 4), dtype=np.uint8)
    assert (np.asarray(Image.open(io.BytesIO(encode_png_fast(rgba)))) == rgba).all()


def test_import_is_cheap():
    code = (
        "import sys, renderhouse.generators.turntable as t; "
        "print(sorted(m for m in ('numpy', 'moderngl', 'PIL') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_gltf_directory_with_external_buffer(generator, tmp_path: Path):
    import json
    import struct

    data = (ASSETS / "BoomBox.glb").read_bytes()
    json_len = struct.unpack_from("<I", data, 12)[0]
    doc = json.loads(data[20 : 20 + json_len])
    bin_len = struct.unpack_from("<I", data, 20 + json_len)[0]
    model_dir = tmp_path / "upload"
    model_dir.mkdir()
    (model_dir / "boombox.bin").write_bytes(data[28 + json_len : 28 + json_len + bin_len])
    doc["buffers"][0]["uri"] = "boombox.bin"
    (model_dir / "boombox.gltf").write_text(json.dumps(doc))
    inp = generator.parse_input({"model": str(model_dir), "size": 64, "frames": 2})
    result = generator.run(LocalContext(tmp_path / "out"), inp)
    assert result["rendered"] == 2
    glb_inp = generator.parse_input({"model": str(ASSETS / "BoomBox.glb"), "size": 64, "frames": 2})
    generator.run(LocalContext(tmp_path / "glb"), glb_inp)
    a = load(tmp_path / "out/frames/row0_0000.png").astype(int)
    b = load(tmp_path / "glb/frames/row0_0000.png").astype(int)
    assert np.abs(a - b).max() <= 1  # same model, same pixels


def test_ground_shadow_darkens_under_the_model(generator, tmp_path: Path):
    plain = {"background": "#ffffff", "frames": 1, "elevation": 30}
    run(generator, tmp_path / "plain", "WaterBottle", **plain)
    run(generator, tmp_path / "shadow", "WaterBottle", shadow=True, **plain)
    a = load(tmp_path / "plain/frames/row0_0000.png")[..., :3].astype(int)
    b = load(tmp_path / "shadow/frames/row0_0000.png")[..., :3].astype(int)
    darker = (a - b).sum(-1) > 30
    assert darker.any()
    ys, _ = np.nonzero(darker)
    mask_rows = np.nonzero((a < 250).any(-1).any(-1))[0]
    assert ys.mean() > mask_rows.mean()  # the shadow lies in the lower part, on the ground


def test_animation_time_poses_a_skinned_model(generator, tmp_path: Path):
    run(generator, tmp_path / "rest", "Fox", frames=1)
    run(generator, tmp_path / "walk", "Fox", frames=1, animation=1, animation_time=0.4)
    rest = load(tmp_path / "rest/frames/row0_0000.png")[..., 3] > 0
    walk = load(tmp_path / "walk/frames/row0_0000.png")[..., 3] > 0
    assert (rest ^ walk).sum() > 0.05 * rest.sum()


def test_a_second_thread_renders_with_a_context_of_its_own(generator, tmp_path: Path):
    """A GL context is current on the thread that made it: after this thread rendered, a
    render on another thread (an API process drawing thumbnails) must not reuse it."""
    from concurrent.futures import ThreadPoolExecutor

    from renderhouse.scene.renderer import get_renderer

    run(generator, tmp_path / "main", "BoomBox")
    with ThreadPoolExecutor(1) as pool:
        other = pool.submit(lambda: run(TurntableGenerator(), tmp_path / "other", "BoomBox")[1])
        assert other.result(timeout=120)["rendered"] == 4
        assert pool.submit(get_renderer).result() is not get_renderer()
