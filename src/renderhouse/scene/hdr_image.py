"""Read high-dynamic-range panoramas into float32 numpy arrays.

Radiance .hdr is read by our own decoder (format: Greg Ward, "Real Pixels", Graphics Gems II,
1991 — RGBE with a shared exponent, flat or "new" run-length-encoded scanlines). OpenEXR is read
through the optional ``OpenEXR`` package when it is installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from renderhouse.errors import InvalidInput


def _rle_scanline(data: memoryview, pos: int, width: int) -> tuple[np.ndarray, int]:
    """One adaptive-RLE scanline: four channel planes, each as runs or literals."""
    line = np.empty((4, width), np.uint8)
    for ch in range(4):
        x = 0
        while x < width:
            count = data[pos]
            pos += 1
            if count > 128:
                count -= 128
                line[ch, x : x + count] = data[pos]
                pos += 1
            else:
                line[ch, x : x + count] = np.frombuffer(data[pos : pos + count], np.uint8)
                pos += count
            x += count
    return line.T, pos


def read_hdr(path: Path) -> np.ndarray:
    """Radiance RGBE file → (H, W, 3) float32 linear radiance, row 0 at the top."""
    raw = Path(path).read_bytes()
    if not (raw.startswith(b"#?RADIANCE") or raw.startswith(b"#?RGBE")):
        raise InvalidInput(f"{path} is not a Radiance .hdr file")
    end = raw.find(b"\n\n")
    if end < 0:
        raise InvalidInput(f"{path}: no end of the Radiance header")
    line_end = raw.find(b"\n", end + 2)
    size = raw[end + 2 : line_end].split()
    if len(size) != 4 or size[0] != b"-Y" or size[2] != b"+X":
        raise InvalidInput(f"{path}: only '-Y H +X W' Radiance orientation is supported")
    height, width = int(size[1]), int(size[3])
    data = memoryview(raw)
    pos = line_end + 1
    flat_len = width * height * 4
    rle = 8 <= width < 32768 and raw[pos : pos + 2] == b"\x02\x02"
    try:
        if not rle:
            rgbe = np.frombuffer(raw, np.uint8, flat_len, pos).reshape(height, width, 4)
        else:
            rgbe = np.empty((height, width, 4), np.uint8)
            for y in range(height):
                if raw[pos : pos + 2] != b"\x02\x02":
                    raise ValueError("mixed scanline encodings")
                rgbe[y], pos = _rle_scanline(data, pos + 4, width)
    except (ValueError, IndexError) as exc:
        raise InvalidInput(f"{path}: truncated or corrupt Radiance data ({exc})") from None
    exp = rgbe[..., 3].astype(np.int32)
    scale = np.where(exp > 0, np.ldexp(1.0, exp - 136), 0.0).astype(np.float32)
    return rgbe[..., :3].astype(np.float32) * scale[..., None]


def read_exr(path: Path) -> np.ndarray:
    try:
        import OpenEXR  # type: ignore[import-not-found]
    except ImportError:
        raise InvalidInput(
            "reading .exr environments needs the OpenEXR package (pip install OpenEXR); "
            "or convert the panorama to Radiance .hdr"
        ) from None
    with OpenEXR.File(str(path)) as f:
        channels = f.channels()
        if "RGB" in channels:
            rgb = np.asarray(channels["RGB"].pixels, np.float32)
        else:
            rgb = np.stack([np.asarray(channels[c].pixels, np.float32) for c in "RGB"], -1)
    return rgb[..., :3]


def read_panorama(path: Path) -> np.ndarray:
    """An equirectangular environment from .hdr or .exr (2:1 aspect expected)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidInput(f"environment file {path} does not exist")
    suffix = path.suffix.lower()
    img = read_exr(path) if suffix == ".exr" else read_hdr(path)
    if img.shape[1] != 2 * img.shape[0]:
        raise InvalidInput(
            f"environment {path.name} is {img.shape[1]}x{img.shape[0]}; an equirectangular "
            "panorama must be twice as wide as it is high"
        )
    return np.nan_to_num(img, nan=0.0, posinf=0.0, neginf=0.0).clip(0, 65000)
