"""The canon's pictures (logo, background image), inline as ``data:image/png;base64,...``
URLs, refused with a code when they are not a bounded image. A canon never names a file on
the machine that runs it (over HTTP that would read the server's files): the CLI turns the
paths in a canon file into data URLs first (``to_data_url``).

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


def to_data_url(path: Path, what: str) -> str:
    """A local image file as the data URL a canon carries (the CLI's side)."""
    try:
        size = path.stat().st_size
    except OSError:
        raise _bad(
            f"invalid_{what}", f"the {what} file {str(path)!r} cannot be read", what
        ) from None
    if size > MAX_BYTES:
        raise _bad(f"invalid_{what}", f"the {what} is larger than {MAX_BYTES // 2**20} MB", what)
    kind = "svg+xml" if path.suffix.lower() == ".svg" else "png"
    return f"data:image/{kind};base64," + base64.b64encode(path.read_bytes()).decode()


def read_reference(ref: str, what: str) -> bytes:
    """The bytes of a canon image's data URL."""
    head, _, payload = ref.partition(",")
    if not head.startswith("data:") or ";base64" not in head:
        raise _bad(
            f"invalid_{what}",
            f"give the {what} inline as a data URL (data:image/png;base64,...); the CLI "
            "turns a file path in a canon file into one",
            what,
        )
    if len(payload) > MAX_BYTES * 4 // 3 + 4:
        raise _bad(f"invalid_{what}", f"the {what} is larger than {MAX_BYTES // 2**20} MB", what)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        message = f"the {what} data URL is not valid base64"
        raise _bad(f"invalid_{what}", message, what) from None


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
