"""Input of a turntable job, with the limits the issue sets (frames 1-720, ≤ 4096²)."""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from renderhouse.generators.fields import UploadedFile

FRAME_FORMATS = ("png", "webp", "avif", "jpeg")
EXTRA_OUTPUTS = ("sprite", "webm", "mp4", "viewer")
_HEX = r"#[0-9a-fA-F]{6}"
MODEL_FILE = UploadedFile("model/gltf-binary", "model/gltf+json", "model/gltf+zip")
_BACKGROUND = re.compile(rf"^(transparent|{_HEX}|gradient:{_HEX},{_HEX})$")


class TurntableInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: Annotated[str, MODEL_FILE] = Field(
        description="path of a .glb/.gltf file, or a directory holding one"
    )
    frames: int = Field(36, ge=1, le=720, description="frames per row (one full turn)")
    size: int | None = Field(None, ge=16, le=4096, description="square frame side in pixels")
    width: int | None = Field(None, ge=16, le=4096)
    height: int | None = Field(None, ge=16, le=4096)
    elevation: float | list[float] = Field(
        15.0, description="camera elevation in degrees; a list renders one row per value"
    )
    fov: float = Field(35.0, gt=1.0, lt=120.0, description="vertical field of view, degrees")
    direction: Literal["cw", "ccw"] = "ccw"
    start_angle: float = Field(0.0, ge=-360.0, le=360.0)
    background: str = Field(
        "transparent", description='"transparent", "#rrggbb" or "gradient:#top,#bottom"'
    )
    lighting: Annotated[str, UploadedFile(presets=("studio", "soft", "contrast"))] = Field(
        "studio", description="studio | soft | contrast | path to .hdr/.exr"
    )
    exposure: float = Field(1.0, gt=0.0, le=16.0)
    aa: Literal["off", "fast", "high", "ultra"] = Field(
        "fast", description="off, fast (FXAA), high (MSAA 4x), ultra (MSAA 4x + 2x2 SSAA)"
    )
    shadow: bool = False
    formats: list[str] = Field(default_factory=lambda: ["png"])
    animation: int = Field(0, ge=0, description="which glTF animation animation_time poses")
    animation_time: float | None = Field(
        None, ge=0.0, description="seconds into the animation; none = the model's rest pose"
    )
    up: Literal["y", "z"] = Field("y", description="the model's up axis (z for Z-up exports)")
    fps: int = Field(24, ge=1, le=120)
    renderer: Literal["auto", "gl", "filament"] = "auto"
    fan_out: int = Field(
        1, ge=1, le=64, description="split the frames over this many child jobs, then merge"
    )
    frame_range: tuple[int, int] | None = Field(
        None, description="set on fan-out children: the [start, end) frame indices to render"
    )
    # Callers may only lower the guards, never raise them past what a worker can bear.
    max_triangles: int = Field(10_000_000, ge=1, le=10_000_000)
    max_texture_pixels: int = Field(8192 * 8192, ge=1, le=8192 * 8192)
    max_file_mb: int = Field(512, ge=1, le=512)

    @field_validator("background")
    @classmethod
    def _background(cls, v: str) -> str:
        if not _BACKGROUND.match(v):
            raise ValueError('use "transparent", "#rrggbb" or "gradient:#rrggbb,#rrggbb"')
        return v

    @field_validator("elevation")
    @classmethod
    def _elevation(cls, v: float | list[float]) -> float | list[float]:
        values = v if isinstance(v, list) else [v]
        if not values or len(values) > 16:
            raise ValueError("give 1 to 16 elevations")
        if any(not -89.9 <= e <= 89.9 for e in values):
            raise ValueError("elevations must be between -89.9 and 89.9 degrees")
        return v

    @field_validator("formats")
    @classmethod
    def _formats(cls, v: list[str]) -> list[str]:
        out = []
        for f in v:
            f = f.strip().lower()
            f = "jpeg" if f == "jpg" else f
            if f not in FRAME_FORMATS + EXTRA_OUTPUTS:
                raise ValueError(
                    f"unknown format {f!r}; choose from {', '.join(FRAME_FORMATS + EXTRA_OUTPUTS)}"
                )
            if f not in out:
                out.append(f)
        return out

    @model_validator(mode="after")
    def _size(self) -> TurntableInput:
        if self.size is not None and (self.width or self.height):
            raise ValueError("give either size or width/height, not both")
        total = self.frames * len(self.elevations)
        if self.frame_range is not None:
            start, end = self.frame_range
            if not 0 <= start < end <= total:
                raise ValueError(f"frame_range must lie within [0, {total}) and not be empty")
        return self

    @property
    def total_frames(self) -> int:
        return self.frames * len(self.elevations)

    def fan_out_ranges(self) -> list[tuple[int, int]]:
        """Contiguous, near-equal frame ranges, one per child (never an empty one)."""
        parts = min(self.fan_out, self.total_frames)
        bounds = [round(i * self.total_frames / parts) for i in range(parts + 1)]
        return list(pairwise(bounds))

    @property
    def frame_size(self) -> tuple[int, int]:
        side = self.size or 1024
        return (self.width or side, self.height or side)

    @property
    def elevations(self) -> list[float]:
        return list(self.elevation) if isinstance(self.elevation, list) else [self.elevation]

    @property
    def frame_formats(self) -> list[str]:
        """Still-image formats to write per frame (PNG is kept whenever anything needs files
        to read back: sprites and videos are built from the PNG frames)."""
        fmts = [f for f in self.formats if f in FRAME_FORMATS]
        if not fmts or (set(self.formats) & {"sprite", "webm", "mp4"} and "png" not in fmts):
            fmts.insert(0, "png")
        return fmts
