"""The brand canon: what an on-brand product picture must look like, as numbers a report
can measure (palette with roles, background, logo and where it may go, framing, outputs,
thresholds). Every coordinate is a fraction of the image (0..1, origin top-left), so one
canon serves every output size.

Invalid canons fail validation with a stable code in the error's ``type`` (pydantic's
``PydanticCustomError``), which the generator turns into ``InvalidInput(code=...)``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from renderhouse.generators.fields import UploadedFile

HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
Role = Literal["primary", "accent", "background", "forbidden", "neutral"]


def hex_colour(value: str) -> str:
    if not isinstance(value, str) or not HEX.match(value.strip()):
        raise PydanticCustomError(
            "invalid_colour",
            "colour {value!r} is not a hex colour; write it as #rrggbb, e.g. #d22630",
            {"value": str(value)[:40]},
        )
    return value.strip().lower()


LOGO_FILE = UploadedFile("image/png", "image/svg+xml", max_mb=8, inline=True)
"""A canon's logo: inline (``data:image/...``) or an uploaded PNG or SVG (``upload:<id>``)."""
BACKGROUND_FILE = UploadedFile("image/png", "image/jpeg", "image/webp", max_mb=8, inline=True)
UPLOAD = re.compile(r"^upload:[A-Za-z0-9_-]{1,64}$")


def inline_image(value: str, what: str) -> str:
    """A picture given inline as a data URL (a ``render_check`` picture may be a file too)."""
    if not isinstance(value, str) or not value.startswith("data:image/"):
        raise PydanticCustomError(
            f"invalid_{what}",
            "give the image inline as a data URL (data:image/png;base64,...) or as an "
            "uploaded file (upload:<id>)",
            {},
        )
    return value


def image_reference(value: str, what: str) -> str:
    """A canon picture: inline (a data URL), an upload (``upload:<id>``, checked by the API
    against the field's declaration), or the local file the worker staged it to. A path is
    never taken over HTTP: the API refuses paths in declared upload fields."""
    if isinstance(value, str) and (UPLOAD.match(value) or Path(value).is_absolute()):
        return value
    return inline_image(value, what)


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaletteColour(Model):
    hex: str
    role: Role
    name: str = Field(default="", max_length=80)
    min_coverage: float = Field(default=0.0, ge=0.0, le=1.0)
    """Primary/accent: the least fraction of non-background pixels within the tight ΔE00 of
    this colour (0 = reported, not required)."""

    @field_validator("hex", mode="before")
    @classmethod
    def _hex(cls, v: str) -> str:
        return hex_colour(v)


class Background(Model):
    kind: Literal["solid", "gradient", "image"] = "solid"
    colour: str | None = None
    """solid: the colour; gradient: the top colour."""
    bottom: str | None = None
    """gradient: the bottom colour."""
    image: Annotated[str | None, BACKGROUND_FILE] = Field(default=None, max_length=12_000_000)
    """image: a PNG/JPEG as a data URL, or an uploaded PNG/JPEG/WebP (``upload:<id>``)."""

    @field_validator("colour", "bottom", mode="before")
    @classmethod
    def _colours(cls, v: str | None) -> str | None:
        return None if v is None else hex_colour(v)

    @field_validator("image")
    @classmethod
    def _image(cls, v: str | None) -> str | None:
        return None if v is None else image_reference(v, "background")

    @model_validator(mode="after")
    def _complete(self) -> Background:
        need = {"solid": ("colour",), "gradient": ("colour", "bottom"), "image": ("image",)}
        missing = [f for f in need[self.kind] if getattr(self, f) is None]
        if missing:
            raise PydanticCustomError(
                "invalid_background",
                "a {kind} background needs {missing}",
                {"kind": self.kind, "missing": ", ".join(missing)},
            )
        return self


class Zone(Model):
    """A rectangle in image fractions: x, y of its top-left corner, w, h."""

    name: str = Field(default="zone", max_length=40)
    x: float = Field(ge=0.0, le=1.0)
    y: float = Field(ge=0.0, le=1.0)
    w: float = Field(gt=0.0, le=1.0)
    h: float = Field(gt=0.0, le=1.0)

    def contains(self, x0: float, y0: float, x1: float, y1: float, slack: float = 0.0) -> bool:
        return (
            x0 >= self.x - slack
            and y0 >= self.y - slack
            and x1 <= self.x + self.w + slack
            and y1 <= self.y + self.h + slack
        )


Anchor = Literal["top-left", "top-right", "bottom-left", "bottom-right"]


class Logo(Model):
    image: Annotated[str, LOGO_FILE] = Field(max_length=12_000_000)
    """A PNG (or JPEG, SVG) with transparency, as a data URL, or an uploaded PNG or SVG."""
    placement: Anchor = "top-left"
    width: float = Field(default=0.18, gt=0.0, le=0.8)
    """The logo's width as a fraction of the image width."""
    min_width: float = Field(default=0.1, gt=0.0, le=0.8)
    margin: float = Field(default=0.04, ge=0.0, le=0.4)
    """Distance from the anchored corner, as a fraction of the image's shorter side."""
    clear_space: float = Field(default=0.5, ge=0.0, le=4.0)
    """Free space around the logo's box, in logo heights, where no product may appear."""
    safe_zones: list[Zone] = Field(default_factory=list, max_length=8)
    """The logo's box must lie entirely within one of these (none: anywhere in the image)."""
    min_score: float = Field(default=0.8, gt=0.0, le=1.0)

    @field_validator("image")
    @classmethod
    def _image(cls, v: str) -> str:
        return image_reference(v, "logo")

    @model_validator(mode="after")
    def _sizes(self) -> Logo:
        if self.width < self.min_width:
            raise PydanticCustomError(
                "invalid_logo_size",
                "logo width {width} is below its own min_width {min_width}",
                {"width": self.width, "min_width": self.min_width},
            )
        return self


class Framing(Model):
    fill_min: float = Field(default=0.55, gt=0.0, le=1.0)
    fill_max: float = Field(default=0.8, gt=0.0, le=1.0)
    """Product fill: its bounding box's larger side over the image's matching side."""
    centre: tuple[float, float] = (0.5, 0.55)
    """Where the product's box centre belongs (x, y fractions)."""
    centre_tolerance: float = Field(default=0.03, gt=0.0, le=0.5)
    elevation_min: float = Field(default=5.0, ge=-89.0, le=89.0)
    elevation_max: float = Field(default=30.0, ge=-89.0, le=89.0)

    @model_validator(mode="after")
    def _ranges(self) -> Framing:
        if self.fill_min > self.fill_max or self.elevation_min > self.elevation_max:
            raise PydanticCustomError(
                "invalid_framing", "a framing range has its minimum above its maximum", {}
            )
        return self


class Output(Model):
    width: int = Field(default=1024, ge=64, le=4096)
    height: int = Field(default=1024, ge=64, le=4096)
    format: Literal["png", "webp", "jpeg"] = "png"


class Thresholds(Model):
    palette_tight: float = Field(default=2.3, gt=0.0)
    palette_loose: float = Field(default=5.0, gt=0.0)
    forbidden_delta_e: float = Field(default=5.0, gt=0.0)
    forbidden_max_fraction: float = Field(default=0.001, ge=0.0, le=1.0)
    background_delta_e: float = Field(default=2.0, gt=0.0)
    """Median ΔE00 of the background from the canon's background."""
    background_uniformity: float = Field(default=4.0, gt=0.0)
    """95th percentile ΔE00 of the background from the canon's background."""
    preservation_iou: float = Field(default=0.98, gt=0.0, le=1.0)
    preservation_delta_e: float = Field(default=3.0, gt=0.0)


class Canon(Model):
    name: str = Field(default="canon", max_length=120)
    palette: Annotated[list[PaletteColour], Field(min_length=1, max_length=32)]
    background: Background
    logo: Logo
    framing: Framing = Framing()
    outputs: Annotated[list[Output], Field(min_length=1, max_length=8)] = [Output()]
    thresholds: Thresholds = Thresholds()
    source: str | None = Field(default=None, max_length=120)
    """Set by the platform for a stored canon: ``canon:<id>@<version>`` (so a job records
    exactly which version it ran with); not a rule, and not part of the plan-cache key."""

    def colours(self, role: str) -> list[PaletteColour]:
        return [c for c in self.palette if c.role == role]


def validation_code(errors: list[dict]) -> str:
    """The stable code of a failed canon validation: the first custom error's type, or
    ``invalid_canon`` for a structural problem (missing field, wrong type, out of range)."""
    for e in errors:
        if e.get("type", "").startswith("invalid_"):
            return str(e["type"])
    return "invalid_canon"
