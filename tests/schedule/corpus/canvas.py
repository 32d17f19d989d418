"""A thin reportlab canvas for drawing schedules at exact coordinates (top-left origin)."""

from __future__ import annotations

import io

from reportlab.lib.pagesizes import A4, landscape
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas


class Page:
    def __init__(self, wide: bool = False) -> None:
        self.buf = io.BytesIO()
        self.size = landscape(A4) if wide else A4
        self.canvas = Canvas(self.buf, pagesize=self.size, invariant=1)
        self.width, self.height = self.size
        self.page = 1

    def text(
        self, x: float, top: float, s: str, size: float = 9, bold: bool = False
    ) -> tuple[float, float, float, float]:
        font = "Helvetica-Bold" if bold else "Helvetica"
        self.canvas.setFont(font, size)
        self.canvas.drawString(x, self.height - top - size, s)
        return (x, top, x + stringWidth(s, font, size), top + size)

    def centred(self, cx: float, top: float, s: str, size: float = 9, bold: bool = False) -> None:
        w = stringWidth(s, "Helvetica-Bold" if bold else "Helvetica", size)
        self.text(cx - w / 2, top, s, size, bold)

    def rect(
        self, x0: float, top: float, x1: float, bottom: float, fill: float | None = None
    ) -> None:
        c = self.canvas
        if fill is not None:
            c.setFillGray(fill)
        c.rect(x0, self.height - bottom, x1 - x0, bottom - top, stroke=1, fill=fill is not None)
        c.setFillGray(0)

    def hline(self, x0: float, x1: float, y: float, width: float = 0.5) -> None:
        self.canvas.setLineWidth(width)
        self.canvas.line(x0, self.height - y, x1, self.height - y)

    def vline(self, x: float, top: float, bottom: float) -> None:
        self.canvas.setLineWidth(0.5)
        self.canvas.line(x, self.height - top, x, self.height - bottom)

    def new_page(self) -> None:
        self.canvas.showPage()
        self.page += 1

    def width_of(self, s: str, size: float = 9) -> float:
        return float(stringWidth(s, "Helvetica", size))

    def wrap(self, s: str, width: float, size: float = 9) -> list[str]:
        lines: list[str] = []
        cur = ""
        for word in s.split():
            trial = f"{cur} {word}".strip()
            if cur and self.width_of(trial, size) > width:
                lines.append(cur)
                cur = word
            else:
                cur = trial
        if cur:
            lines.append(cur)
        return lines

    def finish(self) -> bytes:
        self.canvas.showPage()
        self.canvas.save()
        return self.buf.getvalue()
