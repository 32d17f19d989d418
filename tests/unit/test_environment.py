"""IBL prefiltering maths and the Radiance reader, checked against closed-form answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from renderhouse.errors import InvalidInput
from renderhouse.scene import environment as env_mod
from renderhouse.scene.hdr_image import read_hdr, read_panorama


def write_hdr(path: Path, rgb: np.ndarray, rle: bool) -> None:
    """Encode float RGB as RGBE, flat or with the 'new' RLE scanlines (literal runs only)."""
    h, w = rgb.shape[:2]
    peak = rgb.max(-1)
    exp = np.where(peak > 1e-32, np.floor(np.log2(np.maximum(peak, 1e-32))) + 1, 0)
    scale = np.where(peak > 1e-32, 256.0 / np.exp2(exp), 0)
    rgbe = np.zeros((h, w, 4), np.uint8)
    rgbe[..., :3] = np.clip(rgb * scale[..., None], 0, 255).astype(np.uint8)
    rgbe[..., 3] = np.where(peak > 1e-32, exp + 128, 0).astype(np.uint8)
    out = bytearray(b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n" + f"-Y {h} +X {w}\n".encode())
    for y in range(h):
        if not rle:
            out += rgbe[y].tobytes()
            continue
        out += bytes([2, 2, w >> 8, w & 255])
        for ch in range(4):
            plane = rgbe[y, :, ch]
            for x in range(0, w, 128):
                part = plane[x : x + 128]
                out += bytes([len(part)]) + part.tobytes()
    path.write_bytes(bytes(out))


@pytest.mark.parametrize("rle", [False, True])
def test_hdr_round_trip(tmp_path: Path, rle: bool) -> None:
    rng = np.random.default_rng(3)
    rgb = rng.uniform(0.01, 50, (16, 32, 3)).astype(np.float32)
    write_hdr(tmp_path / "e.hdr", rgb, rle)
    back = read_hdr(tmp_path / "e.hdr")
    assert back.shape == rgb.shape
    # RGBE shares one exponent per pixel: each channel is exact to 1/256 of the pixel's peak
    assert (np.abs(back - rgb) <= rgb.max(-1, keepdims=True) / 128).all()


def test_not_an_hdr_and_wrong_aspect(tmp_path: Path) -> None:
    (tmp_path / "x.hdr").write_bytes(b"P6 not radiance")
    with pytest.raises(InvalidInput):
        read_hdr(tmp_path / "x.hdr")
    write_hdr(tmp_path / "sq.hdr", np.ones((8, 8, 3), np.float32), rle=False)
    with pytest.raises(InvalidInput, match="twice as wide"):
        read_panorama(tmp_path / "sq.hdr")


def test_constant_environment_stays_constant() -> None:
    """A uniform sky: every prefiltered level keeps its radiance, irradiance is π·L."""
    sky = np.full((32, 64, 3), 2.0, np.float32)
    levels = env_mod.prefilter_specular(sky, levels=4, base_sigma=0.04)
    assert [lv.shape[:2] for lv in levels] == [(32, 64), (16, 32), (8, 16), (4, 8)]
    for lv in levels:
        assert np.allclose(lv.astype(np.float32), 2.0, rtol=0.01)
    sh = env_mod.sh_irradiance(sky)
    assert sh[0] * 0.282095 == pytest.approx(np.full(3, 2.0 * np.pi), rel=0.01)
    assert np.abs(sh[1:]).max() < 0.05


def test_prefilter_blurs_a_bright_spot_more_at_higher_roughness() -> None:
    sky = np.full((64, 128, 3), 0.1, np.float32)
    sky[30:34, 62:66] = 100.0  # a small lamp on the horizon, straight ahead (+Z)
    levels = env_mod.prefilter_specular(sky, levels=6)
    peaks = [float(lv.astype(np.float32).max()) for lv in levels]
    assert peaks == sorted(peaks, reverse=True)
    assert peaks[-1] < peaks[0] / 10


def test_upward_light_gives_more_irradiance_to_upward_normals() -> None:
    h, w = 32, 64
    sky = np.zeros((h, w, 3), np.float32)
    sky[: h // 2] = 1.0  # bright upper hemisphere, black ground
    sh = env_mod.sh_irradiance(sky)
    up, down = sh[0] * 0.282095 + sh[1] * 0.488603, sh[0] * 0.282095 - sh[1] * 0.488603
    assert up[0] == pytest.approx(np.pi, rel=0.1)  # full hemisphere of L=1 → π
    assert abs(down[0]) < 0.35


def test_brdf_lut_bounds() -> None:
    lut = env_mod.brdf_lut(size=8, samples=64)
    assert lut.min() >= 0 and (lut.sum(-1) <= 1.0001).all()
    assert lut[0, -1].sum() > 0.95  # smooth surface, head-on: nearly all energy reflected


def test_cache_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sky = np.full((16, 32, 3), 1.0, np.float32)
    path = tmp_path / "sky.hdr"
    write_hdr(path, sky, rle=False)
    monkeypatch.setattr(env_mod, "_MEMORY", {})
    first = env_mod.load_environment(str(path), cache_dir=tmp_path / "cache")
    cached = list((tmp_path / "cache" / "env").glob("*.npz"))
    assert len(cached) == 1
    monkeypatch.setattr(env_mod, "prefilter_specular", lambda *a, **k: pytest.fail("recomputed"))
    monkeypatch.setattr(env_mod, "_MEMORY", {})
    second = env_mod.load_environment(str(path), cache_dir=tmp_path / "cache")
    assert np.array_equal(first.specular[2], second.specular[2])
    with pytest.raises(InvalidInput, match="preset"):
        env_mod.load_environment(str(tmp_path / "missing.hdr"))


def test_auto_renderer_choice_follows_the_model_extensions() -> None:
    import importlib.util

    from renderhouse.scene.renderer import choose_backend

    assert choose_backend("gl", ["KHR_materials_clearcoat"]) == "gl"
    assert choose_backend("auto", ["KHR_materials_transmission", "KHR_materials_volume"]) == "gl"
    has_filly = importlib.util.find_spec("filly") is not None
    expected = "filament" if has_filly else "gl"
    assert choose_backend("auto", ["KHR_materials_sheen"]) == expected
