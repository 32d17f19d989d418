"""The canon's pictures (logo, background image), read from a local path or an inline
``data:image/png;base64,...`` URL, refused with a code when they are not a bounded image.

Checks run before decoding: size on disk, the format's magic bytes, and the pixel count
from the header, so a decompression bomb is refused before any pixel is allocated."""

from __future__ import annotations

import base64
import binascii
import io
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from renderhouse.errors import InvalidInput

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 4096 * 4096
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


def _bad(code: str, message: str, what: str) -> InvalidInput:
    return InvalidInput(message, code=code, details={"field": what})


def read_reference(ref: str, what: str) -> bytes:
    """The bytes a canon image field names: a data URL or a local file path."""
    if ref.startswith("data:"):
        head, _, payload = ref.partition(",")
        if ";base64" not in head or len(payload) > MAX_BYTES * 4 // 3 + 4:
            raise _bad(
                f"invalid_{what}",
                f"the {what} data URL must be base64 (data:image/png;base64,...) and at most "
                f"{MAX_BYTES // 2**20} MB",
                what,
            )
        try:
            return base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            message = f"the {what} data URL is not valid base64"
            raise _bad(f"invalid_{what}", message, what) from None
    path = Path(ref)
    try:
        size = path.stat().st_size
    except OSError:
        raise _bad(f"invalid_{what}", f"the {what} file {ref!r} cannot be read", what) from None
    if size > MAX_BYTES:
        raise _bad(f"invalid_{what}", f"the {what} is larger than {MAX_BYTES // 2**20} MB", what)
    return path.read_bytes()


def load_rgba(ref: str, what: str) -> np.ndarray:
    """A PNG or JPEG as (H, W, 4) uint8 straight-alpha RGBA."""
    data = read_reference(ref, what)
    if data.lstrip()[:5] in (b"<?xml", b"<svg ") or data.lstrip()[:4] == b"<svg":
        raise _bad(
            f"unsupported_{what}",
            f"SVG {what}s are not read yet: export the {what} as a PNG with transparency",
            what,
        )
    if not (data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC)):
        raise _bad(f"invalid_{what}", f"the {what} is not a PNG or JPEG image", what)
    try:
        with warnings.catch_warnings():
            # our own pixel limit below is tighter than Pillow's warning threshold
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
        with im:
            if im.width * im.height > MAX_PIXELS or min(im.size) < 1:
                raise _bad(
                    f"invalid_{what}",
                    f"the {what} is {im.width}x{im.height}; at most 4096x4096 pixels",
                    what,
                )
            return np.asarray(im.convert("RGBA"))
    except Image.DecompressionBombError:
        raise _bad(
            f"invalid_{what}", f"the {what} declares too many pixels; at most 4096x4096", what
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _bad(f"invalid_{what}", f"the {what} image is damaged: {exc}", what) from None
