"""``render_check``: the brand-canon report on any picture (a customer's own photo, an
agency's delivery), as a cheap job of its own: no model, no renderer, a second or less.
The picture (``image``) comes inline (a data URL, like the canon's logo) or as an uploaded
file (``upload:<id>`` of a PNG, JPEG or WebP), is decoded with the same limits as canon
images, and is measured with the same rules as our renders."""

from __future__ import annotations

import io
import json
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.fields import UploadedFile
from renderhouse.generators.render.canon import Canon, image_reference

PICTURE_FILE = UploadedFile("image/png", "image/jpeg", "image/webp", max_mb=8, inline=True)


class CheckInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    canon: Canon
    image: Annotated[str, PICTURE_FILE] = Field(
        max_length=12_000_000,
        description="the picture to check: a data URL, or upload:<id> of a PNG, JPEG or WebP "
        "(a path on the CLI)",
    )

    @field_validator("image")
    @classmethod
    def _picture(cls, v: str) -> str:
        return image_reference(v, "image")


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

        from renderhouse.generators.render.canon_images import load_rgba
        from renderhouse.generators.render.composite import trim
        from renderhouse.generators.render.plan import rules_plan
        from renderhouse.generators.render.report import check
        from renderhouse.generators.render.report_html import report_page

        ctx.progress(0, 2, "reading the picture")
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
