"""The optional filament (filly) backend, end to end through the turntable job, against gl.

Bounds, measured on BoomBox at 128², frame 0, studio lighting, FXAA (premultiplied RGB over
pixels either backend covers, in 0..255):

- mean absolute difference 17.4: the two shade differently in detail (Filament's own IBL
  prefilter and texture filtering of BoomBox's fine maps at 128²; gl with FXAA against gl
  without AA alone differs by 7.4). Bound 20.
- mean signed difference -2.5 (filament slightly darker). Bound ±5: the mistakes this
  guards against all move it further: the environment turned by 90/180/270° gives -6.4 to
  -8.8, 30 % too much IBL intensity +8.8, Filament's ``aces`` or ``pbr_neutral`` tone
  mapping instead of ``aces_legacy`` -26 and -20.
"""

from __future__ import annotations

import builtins
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from renderhouse.errors import InvalidInput
from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.turntable import TurntableGenerator
from renderhouse.scene import renderer as renderer_module

ASSET = Path(__file__).resolve().parents[1] / "assets" / "BoomBox.glb"
SIZE = 128
FRAMES = 4
MAX_MEAN_ABS = 20.0
MAX_MEAN_BIAS = 5.0


def render(out: Path, renderer: str, **options) -> tuple[dict, list[np.ndarray]]:
    generator = TurntableGenerator()
    inp = generator.parse_input(
        {"model": str(ASSET), "size": SIZE, "frames": FRAMES, "renderer": renderer} | options
    )
    ctx = LocalContext(out, checkpoint_file=out / "checkpoint.json")
    result = generator.run(ctx, inp)
    frames = [
        np.asarray(Image.open(out / f"frames/row0_{i:04d}.png").convert("RGBA"))
        for i in range(options.get("frames", FRAMES))
    ]
    return result, frames


@pytest.fixture(scope="module")
def filament_frames(tmp_path_factory) -> tuple[dict, list[np.ndarray]]:
    pytest.importorskip("filly")
    return render(tmp_path_factory.mktemp("filament"), "filament")


def test_filament_frames_are_framed(filament_frames):
    result, frames = filament_frames
    assert result["rendered"] == FRAMES
    assert result["renderer"] == "filament"
    for i, rgba in enumerate(frames):
        assert rgba.shape == (SIZE, SIZE, 4)
        mask = rgba[..., 3] > 0
        assert mask.mean() > 0.05, f"frame {i} is empty"
        assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
        ys, xs = np.nonzero(mask)
        centre = ((xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2)
        assert abs(centre[0] - SIZE / 2) < 0.12 * SIZE and abs(centre[1] - SIZE / 2) < 0.15 * SIZE
    assert np.abs(frames[0].astype(int) - frames[1].astype(int)).mean() > 0.05  # it spins


def test_filament_frame_matches_gl(filament_frames, tmp_path: Path):
    _, frames = filament_frames
    _, gl_frames = render(tmp_path, "gl")
    fil, gl = (f[0].astype(np.float64) for f in (frames, gl_frames))
    covered = (fil[..., 3] > 0) | (gl[..., 3] > 0)
    # same framing: the silhouettes agree except along edges
    assert ((fil[..., 3] > 0) != (gl[..., 3] > 0)).sum() < 0.1 * covered.sum()
    diff = fil[..., :3] * fil[..., 3:] / 255 - gl[..., :3] * gl[..., 3:] / 255
    assert np.abs(diff[covered]).mean() <= MAX_MEAN_ABS
    assert abs(diff[covered].mean()) <= MAX_MEAN_BIAS


def test_filament_backgrounds_are_composited_like_gl(tmp_path: Path):
    pytest.importorskip("filly")
    _, frames = render(tmp_path, "filament", background="#336699", frames=1)
    assert (frames[0][..., 3] == 255).all()
    assert tuple(frames[0][0, 0]) == (0x33, 0x66, 0x99, 255)  # not tone-mapped


def test_auto_still_chooses_gl():
    assert renderer_module.get_renderer("auto").name == "gl"


def test_missing_filly_names_the_extra(monkeypatch):
    monkeypatch.delitem(renderer_module._backends(), "filament", raising=False)
    monkeypatch.delitem(sys.modules, "filly", raising=False)
    real_import = builtins.__import__

    def no_filly(name, *args, **kwargs):
        if name == "filly" or name.startswith("filly."):
            raise ImportError("No module named 'filly'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_filly)
    with pytest.raises(InvalidInput, match=r"pip install 'renderhouse\[filament\]'"):
        renderer_module.get_renderer("filament")
