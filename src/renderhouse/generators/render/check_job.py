"""``render_check``: the brand-canon report on any picture (a customer's own photo, an
agency's delivery), as a cheap job of its own: no model, no renderer, a second or less.
The picture comes inline (a PNG/JPEG data URL, like the canon's logo) or as an uploaded
file (``image_file``: PNG, JPEG or WebP), is decoded with the same limits as canon images,
and is measured with the same rules as our renders."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.fields import UploadedFile
from renderhouse.generators.render.canon import Canon, inline_image

PICTURE_FILE = UploadedFile("image/png", "image/jpeg", "image/webp", max_mb=8)


class CheckInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    canon: Canon
    image: str | None = Field(
        None, max_length=12_000_000, description="the picture to check, as a PNG/JPEG data URL"
    )
    image_file: Annotated[str | None, PICTURE_FILE] = Field(
        None,
        description="or the picture as a file: upload:<id> over HTTP (PNG, JPEG or WebP), "
        "a path on the CLI",
    )

    @field_validator("image")
    @classmethod
    def _inline(cls, v: str | None) -> str | None:
        return None if v is None else inline_image(v, "image")

    @model_validator(mode="after")
    def _one_picture(self) -> CheckInput:
        if (self.image is None) == (self.image_file is None):
            raise PydanticCustomError(
                "invalid_image",
                "give the picture once: image (a data URL) or image_file (upload:<id>)",
                {},
            )
        return self


class RenderCheckGenerator(Generator):
    kind: ClassVar[str] = "render_check"
    Input: ClassVar[type[CheckInput]] = CheckInput
    # Address space, not resident memory: OpenCV's and numpy's thread pools reserve more than
    # 512 MB, under which a worker's pool process failed every check (resource_limit).
    resources: ClassVar[Resources] = Resources(cpu=1.0, memory_mb=2048, isolated=True)
    default_timeout: ClassVar[float] = 60.0
    description: ClassVar[str] = "The brand-canon report on any picture (no rendering)"

    def parse_input(self, data: Any) -> BaseModel:
        from renderhouse.generators.render import RenderGenerator

        return RenderGenerator.parse_with_codes(self, data)

    def run(self, ctx: Context, input: Any) -> dict[str, Any]:
        import numpy as np
        from PIL import Image

        from renderhouse.generators.render.canon_images import load_rgba, load_rgba_file
        from renderhouse.generators.render.composite import trim
        from renderhouse.generators.render.plan import rules_plan
        from renderhouse.generators.render.report import check
        from renderhouse.generators.render.report_html import report_page

        ctx.progress(0, 2, "reading the picture")
        if input.image_file is not None:
            rgba = load_rgba_file(Path(input.image_file), "image")
        else:
            rgba = load_rgba(input.image, "image")
        logo = trim(load_rgba(input.canon.logo.image, "logo"))
        rgb = np.ascontiguousarray(rgba[..., :3])
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "PNG", compress_level=3)
        ctx.artifacts.put_bytes("image.png", buf.getvalue(), "image/png")
        ctx.progress(1, 2, "measuring")
        report = check(rgb, input.canon, logo)
        body = {
            "passed": report.passed,
            "score": report.score,
            "outputs": [{"file": "image.png", "report": report.model_dump(mode="json")}],
        }
        ctx.artifacts.put_bytes(
            "report.json", json.dumps(body, indent=1).encode(), "application/json"
        )
        page = report_page(
            input.canon,
            rules_plan("", input.canon),
            [("image.png", report)],
            title="checked picture",
        )
        ctx.artifacts.put_bytes("report.html", page.encode(), "text/html; charset=utf-8")
        ctx.progress(2, 2, "done")
        return {
            "passed": report.passed,
            "score": report.score,
            "failed": sorted(report.failed()),
            "report": "report.json",
            "report_html": "report.html",
            "metrics": {"compliance_score": report.score},
        }
