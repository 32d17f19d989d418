"""The canon's pictures (logo, background image), inline as ``data:image/png;base64,...``
URLs or as the local file an upload was staged to, refused with a code when they are not a
bounded image. Over HTTP a canon names no file on the server (the API refuses paths in
upload fields; an upload is ``upload:<id>``, which the worker stages to a file); the CLI
turns the paths in a canon file into data URLs (``to_data_url``).

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
MAX_SVG_BYTES = 1024 * 1024
SVG_WIDTH = 1024
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
    kind = "svg+xml" if path.suffix.lower() == ".svg" else "png"  # the bytes decide, not this
    return f"data:image/{kind};base64," + base64.b64encode(path.read_bytes()).decode()


def read_reference(ref: str, what: str) -> bytes:
    """The bytes of a canon image: its data URL's, or its staged file's."""
    head, _, payload = ref.partition(",")
    if not head.startswith("data:"):
        return _read_file(ref, what)
    if ";base64" not in head:
        raise _bad(
            f"invalid_{what}",
            f"give the {what} inline as a base64 data URL (data:image/png;base64,...) or as "
            "an uploaded file (upload:<id>)",
            what,
        )
    if len(payload) > MAX_BYTES * 4 // 3 + 4:
        raise _bad(f"invalid_{what}", f"the {what} is larger than {MAX_BYTES // 2**20} MB", what)
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        message = f"the {what} data URL is not valid base64"
        raise _bad(f"invalid_{what}", message, what) from None


def _read_file(ref: str, what: str) -> bytes:
    if ref.startswith("upload:"):
        raise _bad(
            f"invalid_{what}",
            f"the {what} {ref} was not fetched: upload references are resolved by the "
            "platform's worker; run locally with a file path or a data URL",
            what,
        )
    path = Path(ref)
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            message = f"the {what} is larger than {MAX_BYTES // 2**20} MB"
            raise _bad(f"invalid_{what}", message, what)
        return path.read_bytes()
    except OSError:
        raise _bad(f"invalid_{what}", f"the {what} file cannot be read", what) from None


def _refuse_fetch(url: str, resource_type: str | None = None) -> dict:
    """An SVG may not pull anything in: no files, no network (data: URLs are inline)."""
    raise ValueError(f"an SVG may not load {url[:60]!r}")


def svg_to_png(data: bytes, what: str) -> bytes:
    """Rasterise an SVG at ``SVG_WIDTH`` pixels wide with CairoSVG in its safe mode (no XML
    entities, no external files: ``_refuse_fetch``)."""
    if len(data) > MAX_SVG_BYTES:
        raise _bad(f"invalid_{what}", f"an SVG {what} is at most 1 MB", what)
    from cairosvg.surface import PNGSurface

    aspect = _svg_aspect(data, what)  # height / width, bounded before cairo allocates
    width = SVG_WIDTH if aspect <= 1 else max(1, round(SVG_WIDTH / aspect))
    try:
        # PNGSurface.convert, not svg2png: only it passes a url_fetcher through to the parser
        png = PNGSurface.convert(
            bytestring=data, output_width=width, url_fetcher=_refuse_fetch, unsafe=False
        )
    except Exception as exc:  # any parser or renderer error on untrusted bytes is bad input
        raise _bad(
            f"invalid_{what}", f"the SVG {what} cannot be drawn: {str(exc)[:200]}", what
        ) from None
    if not isinstance(png, bytes):
        raise _bad(f"invalid_{what}", f"the SVG {what} drew nothing", what)
    return png


def _svg_aspect(data: bytes, what: str) -> float:
    """Height over width from the root's viewBox (else width/height), refused past 16:1."""
    import re

    from defusedxml import ElementTree

    try:
        root = ElementTree.fromstring(data)
    except Exception:  # malformed XML, entities, DTDs: all bad input
        raise _bad(f"invalid_{what}", f"the SVG {what} is not well-formed XML", what) from None
    numbers = re.findall(r"[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?", root.get("viewBox") or "")
    if len(numbers) == 4:
        w, h = float(numbers[2]), float(numbers[3])
    else:
        size = [re.match(r"\s*(\d+(?:\.\d+)?)", root.get(k) or "") for k in ("width", "height")]
        w, h = (float(m.group(1)) if m else 1.0 for m in size)
    if not (w > 0 and h > 0) or not (1 / 16 <= h / w <= 16):
        raise _bad(
            f"invalid_{what}", f"the SVG {what}'s size ({w:g} x {h:g}) is not a logo's", what
        )
    return h / w


def load_rgba(ref: str, what: str) -> np.ndarray:
    """A PNG, JPEG, WebP or SVG (a data URL or a staged file) as (H, W, 4) uint8
    straight-alpha RGBA."""
    data = read_reference(ref, what)
    head = data.lstrip()[:256]
    if head.startswith((b"<?xml", b"<svg", b"<!DOCTYPE svg")) or b"<svg" in head:
        data = svg_to_png(data, what)
    webp = data[:4] == b"RIFF" and data[8:12] == b"WEBP"
    if not (data.startswith(PNG_MAGIC) or data.startswith(JPEG_MAGIC) or webp):
        raise _bad(f"invalid_{what}", f"the {what} is not a PNG, JPEG, WebP or SVG image", what)
    return decode_rgba(data, what)


def decode_rgba(data: bytes, what: str) -> np.ndarray:
    """Decode image bytes whose magic was checked, refusing more than ``MAX_PIXELS``."""
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
