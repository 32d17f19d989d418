"""Image-based lighting, prefiltered on the CPU once per environment and cached on disk.

- Specular: a mip chain of equirectangular maps, level ``i`` convolved with the GGX lobe of
  roughness ``i / (levels - 1)`` by importance sampling with N = V = R (Karis 2013, "Real Shading
  in Unreal Engine 4", §"Image Based Lighting"), using filtered importance sampling (Křivánek &
  Colbert 2008, "Real-time Shading with Filtered Importance Sampling") to pick a source mip per
  sample so 128 samples suffice without fireflies.
- Diffuse: irradiance as 9 spherical-harmonic coefficients (Ramamoorthi & Hanrahan 2001, "An
  Efficient Representation for Irradiance Environment Maps"), already multiplied by the cosine
  lobe's Â_l so the shader only evaluates the basis.
- BRDF LUT: the split-sum scale/bias table (Karis 2013) for the Fdez-Agüera 2019 multiple
  scattering term the shader uses; it depends on nothing, so it is cached once.

Presets: ``studio`` is the three.js RoomEnvironment panorama shipped in ``envs/`` (what the
baseline lights with). ``soft`` is studio prefiltered at GGX roughness 0.6 and used as a
radiance map: same light placement, no sharp highlights. ``contrast`` raises studio's
luminance to the power 1.6 (colour kept) and rescales to studio's mean luminance: brighter
key lights, darker fill, the same average exposure.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from renderhouse.errors import InvalidInput
from renderhouse.scene.hdr_image import read_panorama

ENV_DIR = Path(__file__).parent / "envs"
PRESETS = ("studio", "soft", "contrast")
SPECULAR_LEVELS = 6
PREFILTER_VERSION = "v4"
PRESET_BLUR = 0.04  # radians; see prefilter_specular
_SAMPLES = 128


@dataclass
class Environment:
    name: str
    specular: list[np.ndarray]  # float16 (h, w, 3), level i = roughness i/(levels-1)
    sh: np.ndarray  # (9, 3) float32 irradiance coefficients (Â_l L_lm)
    key: str


def default_cache_dir() -> Path:
    base = os.environ.get("RENDERHOUSE_CACHE_DIR") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "renderhouse" if base else Path.home() / ".cache" / "renderhouse"


# -- panorama geometry (equirect: top row +Y, centre column +Z, longitude atan2(x, z)) ------


def texel_directions(w: int, h: int) -> np.ndarray:
    u = (np.arange(w, dtype=np.float32) + 0.5) / w
    v = (np.arange(h, dtype=np.float32) + 0.5) / h
    phi = (u - 0.5) * 2 * np.pi
    theta = v * np.pi
    st = np.sin(theta)[:, None]
    return np.stack(
        [st * np.sin(phi)[None, :], np.repeat(np.cos(theta)[:, None], w, 1), st * np.cos(phi)],
        -1,
    ).astype(np.float32)


def sample_bilinear(img: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Look up directions ``d`` (..., 3) in equirect ``img`` with bilinear filtering, wrapping
    in longitude."""
    h, w = img.shape[:2]
    u = np.arctan2(d[..., 0], d[..., 2]) / (2 * np.pi) + 0.5
    v = np.arccos(np.clip(d[..., 1], -1, 1)) / np.pi
    x = u * w - 0.5
    y = np.clip(v * h - 0.5, 0, h - 1)
    x0 = np.floor(x).astype(np.int32)
    y0 = np.floor(y).astype(np.int32)
    fx = (x - x0)[..., None]
    fy = (y - y0)[..., None]
    x0 %= w
    x1 = (x0 + 1) % w
    y1 = np.minimum(y0 + 1, h - 1)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bot * fy


def _downsample(img: np.ndarray) -> np.ndarray:
    """2x2 box average weighted by texel solid angle (∝ sin θ of each row)."""
    h, w = img.shape[:2]
    wt = np.sin((np.arange(h) + 0.5) / h * np.pi)[:, None, None]
    num = (img * wt).reshape(h // 2, 2, w // 2, 2, 3).sum((1, 3))
    den = 2 * wt.reshape(h // 2, 2, 1, 1, 1).sum((1, 3))
    return (num / den).astype(np.float32)


def _hammersley(n: int) -> np.ndarray:
    i = np.arange(n, dtype=np.uint32)
    bits = i.copy()
    bits = ((bits << 16) | (bits >> 16)) & 0xFFFFFFFF
    bits = ((bits & 0x55555555) << 1) | ((bits & 0xAAAAAAAA) >> 1)
    bits = ((bits & 0x33333333) << 2) | ((bits & 0xCCCCCCCC) >> 2)
    bits = ((bits & 0x0F0F0F0F) << 4) | ((bits & 0xF0F0F0F0) >> 4)
    bits = ((bits & 0x00FF00FF) << 8) | ((bits & 0xFF00FF00) >> 8)
    return np.stack([(i + 0.5) / n, bits.astype(np.float64) / 2**32], 1)


def _ggx_half_vectors(roughness: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Tangent-space GGX half vectors and their pdf over L (Karis 2013, ImportanceSampleGGX)."""
    a = roughness * roughness
    xi = _hammersley(n)
    phi = 2 * np.pi * xi[:, 0]
    cos_t = np.sqrt((1 - xi[:, 1]) / (1 + (a * a - 1) * xi[:, 1]))
    sin_t = np.sqrt(1 - cos_t * cos_t)
    h = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], 1)
    d = a * a / (np.pi * ((cos_t * cos_t) * (a * a - 1) + 1) ** 2)
    pdf_l = d / 4.0  # D·NoH / (4·VoH) with N = V: NoH = VoH
    return h.astype(np.float32), pdf_l


def prefilter_specular(
    env: np.ndarray, levels: int = SPECULAR_LEVELS, base_sigma: float = 0.0
) -> list[np.ndarray]:
    """Level 0 is the panorama itself, or blurred by ``base_sigma`` radians (the presets use
    0.04 like the baseline's ``PMREMGenerator.fromScene(scene, 0.04)``, so mirror-like
    surfaces reflect the same soft room)."""
    h0, w0 = env.shape[:2]
    if base_sigma > 0:
        env = gaussian_blur_sphere(env, base_sigma)
    pyramid = [env.astype(np.float32)]
    while pyramid[-1].shape[0] > 4:
        pyramid.append(_downsample(pyramid[-1]))
    out = [env.astype(np.float16)]
    for level in range(1, levels):
        rough = level / (levels - 1)
        w, h = max(w0 >> level, 1), max(h0 >> level, 1)  # GL mip sizes: halve, floor, ≥ 1
        n = texel_directions(w, h).reshape(-1, 3)
        up = np.where(np.abs(n[:, 1:2]) < 0.999, [[0, 1, 0]], [[1, 0, 0]]).astype(np.float32)
        t = np.cross(up, n)
        t /= np.linalg.norm(t, axis=1, keepdims=True)
        b = np.cross(n, t)
        hs, pdf = _ggx_half_vectors(rough, _SAMPLES)
        # solid angle per sample vs per source texel picks the source mip (Křivánek 2008)
        texel = 4 * np.pi / (w0 * h0)
        lods = np.clip(0.5 * np.log2(1.0 / (_SAMPLES * pdf * texel)) + 1.0, 0, len(pyramid) - 1)
        acc = np.zeros((len(n), 3), np.float32)
        wsum = np.zeros((len(n), 1), np.float32)
        for k in range(_SAMPLES):
            hw = t * hs[k, 0] + b * hs[k, 1] + n * hs[k, 2]
            ndoth = np.sum(n * hw, 1, keepdims=True)
            lw = 2 * ndoth * hw - n
            ndotl = np.sum(n * lw, 1, keepdims=True)
            ok = np.maximum(ndotl, 0)
            acc += sample_bilinear(pyramid[round(float(lods[k]))], lw) * ok
            wsum += ok
        out.append((acc / np.maximum(wsum, 1e-6)).reshape(h, w, 3).astype(np.float16))
    return out


def gaussian_blur_sphere(env: np.ndarray, sigma: float, samples: int = 48) -> np.ndarray:
    """Convolve an equirect panorama with a spherical Gaussian of ``sigma`` radians, by
    stratified sampling of the lobe around every texel direction."""
    h, w = env.shape[:2]
    n = texel_directions(w, h).reshape(-1, 3)
    up = np.where(np.abs(n[:, 1:2]) < 0.999, [[0, 1, 0]], [[1, 0, 0]]).astype(np.float32)
    t = np.cross(up, n)
    t /= np.linalg.norm(t, axis=1, keepdims=True)
    b = np.cross(n, t)
    xi = _hammersley(samples)
    radius = sigma * np.sqrt(-2 * np.log(1 - xi[:, 0] * 0.9999))  # Rayleigh: 2-D Gaussian
    phi = 2 * np.pi * xi[:, 1]
    acc = np.zeros((len(n), 3), np.float32)
    for k in range(samples):
        ox, oy = radius[k] * np.cos(phi[k]), radius[k] * np.sin(phi[k])
        d = n + t * np.float32(ox) + b * np.float32(oy)
        acc += sample_bilinear(env, d / np.linalg.norm(d, axis=1, keepdims=True))
    return (acc / samples).reshape(h, w, 3)


def sh_irradiance(env: np.ndarray) -> np.ndarray:
    """Ramamoorthi & Hanrahan 2001 eq. 10 projection, times Â_l (π, 2π/3, π/4)."""
    small = env
    while small.shape[0] > 64:
        small = _downsample(small)
    h, w = small.shape[:2]
    d = texel_directions(w, h).reshape(-1, 3).astype(np.float64)
    theta = (np.arange(h) + 0.5) / h * np.pi
    dw = (np.repeat(np.sin(theta), w) * (2 * np.pi / w) * (np.pi / h))[:, None]
    x, y, z = d[:, 0], d[:, 1], d[:, 2]
    basis = np.stack(
        [
            np.full_like(x, 0.282095),
            0.488603 * y,
            0.488603 * z,
            0.488603 * x,
            1.092548 * x * y,
            1.092548 * y * z,
            0.315392 * (3 * z * z - 1),
            1.092548 * x * z,
            0.546274 * (x * x - y * y),
        ],
        1,
    )
    coeffs = basis.T @ (small.reshape(-1, 3) * dw)
    a_hat = np.array([np.pi] + [2 * np.pi / 3] * 3 + [np.pi / 4] * 5)[:, None]
    return (coeffs * a_hat).astype(np.float32)


def brdf_lut(size: int = 32, samples: int = 256) -> np.ndarray:
    """(roughness rows, NoV columns, 2) split-sum scale and bias for F0 (Karis 2013)."""
    out = np.zeros((size, size, 2), np.float32)
    for j in range(size):
        rough = (j + 0.5) / size
        a = rough * rough
        hs, _ = _ggx_half_vectors(rough, samples)
        for i in range(size):
            nov = (i + 0.5) / size
            v = np.array([np.sqrt(1 - nov * nov), 0.0, nov])
            voh = hs @ v
            lv = 2 * voh[:, None] * hs - v
            nol, noh = np.clip(lv[:, 2], 0, 1), np.clip(hs[:, 2], 0, 1)
            voh = np.clip(voh, 0, 1)
            k = a / 2  # Schlick-Smith k for IBL (Karis 2013)
            g = (nol / (nol * (1 - k) + k)) * (nov / (nov * (1 - k) + k))
            gvis = np.where(nol > 0, g * voh / np.maximum(noh * nov, 1e-6), 0)
            fc = (1 - voh) ** 5
            out[j, i] = [np.mean((1 - fc) * gvis), np.mean(fc * gvis)]
    return out


def _derive(name: str, studio: np.ndarray) -> np.ndarray:
    if name == "soft":
        blurred = prefilter_specular(studio, SPECULAR_LEVELS)[3].astype(np.float32)
        h, w = studio.shape[:2]
        return sample_bilinear(blurred, texel_directions(w, h)).astype(np.float32)
    lum = studio @ np.array([0.2126, 0.7152, 0.0722], np.float32)
    boosted = np.power(np.maximum(lum, 1e-6), 1.6)
    scaled = studio * (boosted / np.maximum(lum, 1e-6))[..., None]
    return scaled * (lum.mean() / max(float(boosted.mean()), 1e-6))


def _file_key(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:24]


_MEMORY: dict[str, Environment] = {}


def load_environment(lighting: str, cache_dir: Path | None = None) -> Environment:
    """A preset name or a path to a .hdr/.exr panorama, prefiltered (memory → disk → compute)."""
    if lighting in PRESETS:
        source = ENV_DIR / "studio_room.hdr"
        variant = lighting
    else:
        source = Path(lighting).expanduser()
        if not source.is_file():
            raise InvalidInput(
                f"lighting {lighting!r} is neither a preset ({', '.join(PRESETS)}) "
                "nor an existing .hdr/.exr file"
            )
        variant = "file"
    key = f"{_file_key(source)}-{variant}-{PREFILTER_VERSION}-{SPECULAR_LEVELS}"
    if key in _MEMORY:
        return _MEMORY[key]
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cached = cache / "env" / f"{key}.npz"
    env = None
    if cached.is_file():
        try:
            with np.load(cached) as z:
                levels = [z[f"level{i}"] for i in range(SPECULAR_LEVELS)]
                h0, w0 = levels[0].shape[:2]
                for i, lv in enumerate(levels):  # a mip chain, or not ours: recompute
                    if lv.shape != (max(h0 >> i, 1), max(w0 >> i, 1), 3):
                        raise ValueError("not a mip chain")
                env = Environment(lighting, levels, z["sh"], key)
        except (OSError, KeyError, ValueError):
            env = None  # a torn or stale cache file: recompute below
    if env is None:
        pano = read_panorama(source)
        if variant in ("soft", "contrast"):
            pano = _derive(variant, pano)
        sigma = PRESET_BLUR if variant != "file" else 0.0
        env = Environment(
            lighting, prefilter_specular(pano, base_sigma=sigma), sh_irradiance(pano), key
        )
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_name(f"{cached.stem}.{os.getpid()}.tmp.npz")
            np.savez(tmp, sh=env.sh, **{f"level{i}": lv for i, lv in enumerate(env.specular)})
            tmp.replace(cached)
        except OSError:
            pass  # a read-only cache only costs speed
    _MEMORY[key] = env
    return env


_LUT: list[np.ndarray] = []


def load_brdf_lut(cache_dir: Path | None = None) -> np.ndarray:
    if _LUT:
        return _LUT[0]
    cache = (Path(cache_dir) if cache_dir else default_cache_dir()) / "env" / "brdf_lut_v1.npy"
    lut = None
    if cache.is_file():
        try:
            lut = np.load(cache)
        except (OSError, ValueError):
            lut = None
    if lut is None or lut.shape != (32, 32, 2):
        lut = brdf_lut()
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, lut)
        except OSError:
            pass
    _LUT.append(lut)
    return lut
