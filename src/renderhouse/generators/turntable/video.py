"""Encode a row of turntable frames into a looping video with PyAV.

WebM/VP9 (libvpx-vp9, BSD-licensed) is the default and what we recommend serving.

Licensing note: MP4/H.264 goes through libx264, which PyAV's binary wheels bundle and
which is GPL. Renderhouse is Apache-2.0, so H.264 is strictly opt-in: callers pass
``codec="h264"`` only when a job explicitly asked for the ``mp4`` format (or an operator
enabled it), never as a fallback. If the installed PyAV/FFmpeg lacks the encoder we raise
``InvalidInput`` with code ``codec_unavailable`` instead of silently switching codecs.

Loop-friendliness: a 360° spin of N frames already excludes the duplicate 360° frame, so
every frame is shown for exactly ``1/fps`` with a constant time base and the clip wraps
from the last frame to the first without a stutter. Frames are flattened over an opaque
background (videos carry no alpha here), padded to even dimensions (yuv420p needs
them) and converted to yuv420p for the widest player support.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.stream import VideoStream
from PIL import Image

from renderhouse.errors import InvalidInput
from renderhouse.generators.turntable.frames import WHITE, flatten

# codec name → (FFmpeg encoder, container format, encoder options)
CODECS: dict[str, tuple[str, str, dict[str, str]]] = {
    # Constant quality (crf with b=0); row-mt and cpu-used=4 keep encode time reasonable.
    "vp9": (
        "libvpx-vp9",
        "webm",
        {"crf": "31", "b": "0", "deadline": "good", "cpu-used": "4", "row-mt": "1"},
    ),
    "h264": ("libx264", "mp4", {"crf": "20", "preset": "medium", "tune": "animation"}),
}
CODEC_ALIASES = {"webm": "vp9", "vp9": "vp9", "mp4": "h264", "h264": "h264"}
VIDEO_CONTENT_TYPES = {"vp9": "video/webm", "h264": "video/mp4"}
BT709 = 1  # AVCOL_SPC/PRI/TRC_BT709 in FFmpeg's enums
LIMITED_RANGE = 1  # AVCOL_RANGE_MPEG (16-235), what players expect for yuv420p


def encoder_available(encoder: str) -> bool:
    """True when the FFmpeg linked into PyAV can encode with ``encoder``."""
    try:
        av.codec.Codec(encoder, "w")
    except av.codec.codec.UnknownCodecError:
        return False
    return True


def _even_rgb(path: Path, background: tuple[int, int, int]) -> np.ndarray:
    with Image.open(path) as im:
        rgba = np.asarray(im.convert("RGBA"))
    rgb = flatten(rgba, background)
    h, w = rgb.shape[:2]
    pad_h, pad_w = h % 2, w % 2
    if pad_h or pad_w:
        # Pad with the background instead of cropping so no rendered pixel is lost.
        padded = np.empty((h + pad_h, w + pad_w, 3), dtype=np.uint8)
        padded[...] = np.asarray(background, dtype=np.uint8)
        padded[:h, :w] = rgb
        rgb = padded
    return rgb


def encode_video(
    frame_paths: list[Path],
    out_path: Path,
    codec: str = "vp9",
    fps: int = 24,
    *,
    background: tuple[int, int, int] | None = None,
) -> Path:
    """Encode ``frame_paths`` (in spin order) to ``out_path`` and return it.

    ``codec`` is ``vp9`` (WebM, default) or ``h264`` (MP4, GPL encoder, opt-in); the
    container follows the codec regardless of the suffix of ``out_path``.
    ``background`` is the RGB colour transparent pixels are composited onto (white by
    default, matching JPEG frames).
    """
    name = CODEC_ALIASES.get(codec)
    if name is None:
        raise InvalidInput(
            f"unknown video codec {codec!r}; use vp9 (WebM) or h264 (MP4)",
            code="codec_unavailable",
            details={"codec": codec},
        )
    encoder, container_format, options = CODECS[name]
    if not encoder_available(encoder):
        raise InvalidInput(
            f"this installation's FFmpeg has no {encoder} encoder, so {codec} video is "
            "unavailable; request vp9/webm or frames only",
            code="codec_unavailable",
            details={"codec": codec, "encoder": encoder},
        )
    if not frame_paths:
        raise InvalidInput("a video needs at least one frame")
    if not 1 <= fps <= 120:
        raise InvalidInput(f"fps must be 1-120, got {fps}", details={"fps": fps})
    bg = background or WHITE
    out_path.parent.mkdir(parents=True, exist_ok=True)
    first = _even_rgb(frame_paths[0], bg)
    height, width = first.shape[:2]
    container_options = {"movflags": "+faststart"} if container_format == "mp4" else {}
    with av.open(
        str(out_path), mode="w", format=container_format, options=container_options
    ) as container:
        stream = container.add_stream(encoder, rate=fps, options=options)
        assert isinstance(stream, VideoStream)  # narrows the type; encoder is a video codec
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, fps)
        # One keyframe per loop lets players seek back to the start cheaply.
        stream.codec_context.gop_size = len(frame_paths)
        # Convert with and tag BT.709: untagged HD video is assumed to be BT.709 by
        # browsers, while swscale's untagged default is BT.601, which shifts colours.
        context = stream.codec_context
        context.colorspace = BT709
        context.color_primaries = BT709
        context.color_trc = BT709
        context.color_range = LIMITED_RANGE
        for index, path in enumerate(frame_paths):
            rgb = first if index == 0 else _even_rgb(path, bg)
            if rgb.shape[:2] != (height, width):
                raise InvalidInput(
                    f"{path.name} does not match the first frame's size {width}x{height}",
                    details={"frame": path.name},
                )
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(
                format="yuv420p",
                dst_colorspace="ITU709",
                dst_color_range="MPEG",
                dst_color_trc=BT709,
                dst_color_primaries=BT709,
            )
            # pts in the stream's time base; setting frame.time_base as well makes this PyAV
            # rescale the timestamps to 0, and a spin longer than libvpx's 25-frame look-ahead
            # then fails to mux at the flush ("Invalid argument").
            frame.pts = index
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out_path
