"""Getting images into GL textures fast on llvmpipe: mip chains made on the CPU and uploaded
through the raw GL entry points moderngl does not expose, plus a ``glFinish`` that releases
the GIL."""

from __future__ import annotations

from typing import Any

import numpy as np

GL_SRGB8_ALPHA8 = 0x8C43


class RawGL:
    """The few GL entry points moderngl does not expose, through EGL's loader and ctypes."""

    def __init__(self) -> None:
        import ctypes
        import ctypes.util

        egl = ctypes.CDLL(ctypes.util.find_library("EGL") or "libEGL.so.1")
        egl.eglGetProcAddress.restype = ctypes.c_void_p
        egl.eglGetProcAddress.argtypes = [ctypes.c_char_p]

        def fn(name: str, *args: Any) -> Any:
            address = egl.eglGetProcAddress(name.encode())
            if not address:
                raise OSError(f"no GL entry point {name}")
            return ctypes.CFUNCTYPE(None, *args)(address)

        u, i, p = ctypes.c_uint, ctypes.c_int, ctypes.c_void_p
        self.finish = fn("glFinish")
        self.active_texture = fn("glActiveTexture", u)
        self.bind_texture = fn("glBindTexture", u, u)
        self.pixel_store = fn("glPixelStorei", u, i)
        self.tex_image_2d = fn("glTexImage2D", u, i, i, i, i, i, u, u, p)

    def upload_mips(self, tex: Any, unit: int, levels: list[np.ndarray], srgb: bool) -> None:
        """Define every mip level of ``tex`` from CPU-made images. GPU mip generation on
        llvmpipe JIT-compiles a blit per format, ~100 ms each the first time in a process."""
        self.active_texture(0x84C0 + unit)  # GL_TEXTURE0 + unit
        self.bind_texture(0x0DE1, tex.glo)  # GL_TEXTURE_2D
        self.pixel_store(0x0CF5, 1)  # GL_UNPACK_ALIGNMENT
        fmt = GL_SRGB8_ALPHA8 if srgb else 0x8058  # GL_RGBA8
        for level, px in enumerate(levels):
            px = np.ascontiguousarray(px)
            h, w = px.shape[:2]
            self.tex_image_2d(0x0DE1, level, fmt, w, h, 0, 0x1908, 0x1401, px.ctypes.data)


_SRGB_LUTS: list[np.ndarray] = []


def srgb_luts() -> tuple[np.ndarray, np.ndarray]:
    """sRGB8 → linear16 and linear16 → sRGB8 tables (IEC 61966-2-1 transfer function)."""
    if not _SRGB_LUTS:
        c = np.arange(256) / 255
        lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
        x = np.arange(65536) / 65535
        enc = np.where(x <= 0.0031308, x * 12.92, 1.055 * x ** (1 / 2.4) - 0.055)
        _SRGB_LUTS[:] = [(lin * 65535 + 0.5).astype(np.uint32), (enc * 255 + 0.5).astype(np.uint8)]
    return _SRGB_LUTS[0], _SRGB_LUTS[1]


def mip_chain(pixels: np.ndarray, srgb: bool) -> list[np.ndarray]:
    """2x2 box-filtered mip levels 1..n in integer maths, averaged in linear light for sRGB
    colour as GL's own sRGB mip generation does."""
    to_lin, to_srgb = srgb_luts()
    img = pixels.astype(np.uint32) * 257
    if srgb:
        img[..., :3] = to_lin[pixels[..., :3]]
    levels = []
    while img.shape[0] > 1 or img.shape[1] > 1:
        h, w = img.shape[:2]
        if h > 1:
            img = (img[0 : h // 2 * 2 : 2] + img[1 : h // 2 * 2 : 2] + 1) >> 1
        if w > 1:
            img = (img[:, 0 : w // 2 * 2 : 2] + img[:, 1 : w // 2 * 2 : 2] + 1) >> 1
        out = (img >> 8).astype(np.uint8)
        if srgb:
            out[..., :3] = to_srgb[img[..., :3]]
        levels.append(out)
    return levels
