"""Pages read with pdfium (pypdfium2): the default reader, ~15x faster than pdfplumber on
our corpus because characters and path bounds come straight from pdfium's C text page.
It yields the same word dictionaries ``layout.build`` takes from pdfplumber, so both
readers are interchangeable (tests/schedule check they find the same events)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from renderhouse.generators.schedule.errors import refuse
from renderhouse.generators.schedule.layout import PageLayout, build
from renderhouse.generators.schedule.pdfdoc import Limits, page_deadline


def read_pages(path: Path, limits: Limits) -> Iterator[tuple[PageLayout, int]]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    try:
        doc = pdfium.PdfDocument(path)
    except pdfium.PdfiumError as exc:
        raise refuse("pdf_corrupt", f"the PDF cannot be read ({exc})") from None
    try:
        for index in range(len(doc)):
            number = index + 1
            with page_deadline(limits.page_seconds, number):
                try:
                    page = doc[index]
                except pdfium.PdfiumError as exc:
                    raise refuse(
                        "pdf_corrupt", f"page {number} cannot be read ({exc}); the PDF is "
                        "damaged: export it again", page=number,
                    ) from None  # fmt: skip
                try:
                    width, height = page.get_size()
                    words = _words(page, height, raw, limits.max_chars_per_page, number)
                    rects: list[dict[str, Any]] = []
                    for obj in page.get_objects(filter=(raw.FPDF_PAGEOBJ_PATH,), max_depth=4):
                        left, bottom, right, top = obj.get_bounds()
                        rects.append(
                            {"x0": left, "x1": right, "top": height - top,
                             "bottom": height - bottom}
                        )  # fmt: skip
                    images = sum(
                        1 for _ in page.get_objects(filter=(raw.FPDF_PAGEOBJ_IMAGE,), max_depth=4)
                    )
                except pdfium.PdfiumError as exc:
                    raise refuse(
                        "pdf_corrupt", f"page {number} cannot be read ({exc})", page=number
                    ) from None
                finally:
                    page.close()
            yield build(number, width, height, words, rects, []), images
    finally:
        doc.close()


def _words(page: Any, height: float, raw: Any, max_chars: int, number: int) -> list[dict[str, Any]]:
    textpage = page.get_textpage()
    try:
        if textpage.count_chars() > max_chars:
            raise refuse(
                "pdf_too_large",
                f"page {number} holds {textpage.count_chars():,} characters (the limit is "
                f"{max_chars:,}); a schedule page holds a few thousand",
                page=number,
            )
        handle = textpage.raw
        box = raw.FS_RECTF()
        words: list[dict[str, Any]] = []
        cur: dict[str, Any] | None = None
        for i in range(textpage.count_chars()):
            code = raw.FPDFText_GetUnicode(handle, i)
            ch = chr(code) if code else ""
            if not ch or ch.isspace() or code == 0xFFFE:
                cur = None
                continue
            raw.FPDFText_GetLooseCharBox(handle, i, box)
            x0, x1, top, bottom = box.left, box.right, height - box.top, height - box.bottom
            size = raw.FPDFText_GetFontSize(handle, i)
            if cur is not None and (
                x0 - cur["x1"] > min(3.0, 0.3 * size) or abs(top - cur["top"]) > 0.5 * size
            ):
                cur = None
            if cur is None:
                weight = raw.FPDFText_GetFontWeight(handle, i)
                bold = "Bold" if weight >= 600 else "Regular"
                cur = {"text": ch, "x0": x0, "x1": x1, "top": top, "bottom": bottom,
                       "size": size, "fontname": bold}  # fmt: skip
                words.append(cur)
            else:
                cur["text"] += ch
                cur["x1"] = max(cur["x1"], x1)
                cur["bottom"] = max(cur["bottom"], bottom)
        return words
    finally:
        textpage.close()
