"""A page as the extractors see it: words grouped into lines, lines split into cells at
wide gaps, plus the rectangles and horizontal rules drawn on it (pdfplumber coordinates:
points, origin top-left)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Box = tuple[float, float, float, float]
"""(x0, top, x1, bottom)"""


@dataclass
class Cell:
    text: str
    x0: float
    top: float
    x1: float
    bottom: float
    bold: bool = False

    @property
    def box(self) -> Box:
        return (self.x0, self.top, self.x1, self.bottom)

    @property
    def cx(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def cy(self) -> float:
        return (self.top + self.bottom) / 2


@dataclass
class Line:
    cells: list[Cell]

    @property
    def top(self) -> float:
        return min(c.top for c in self.cells)

    @property
    def bottom(self) -> float:
        return max(c.bottom for c in self.cells)

    @property
    def text(self) -> str:
        return "  ".join(c.text for c in self.cells)

    @property
    def box(self) -> Box:
        return (self.cells[0].x0, self.top, max(c.x1 for c in self.cells), self.bottom)


@dataclass
class PageLayout:
    number: int
    width: float
    height: float
    lines: list[Line]
    rects: list[Box] = field(default_factory=list)
    rules: list[Box] = field(default_factory=list)
    """Horizontal strokes (lines and hairline rects): table rules and strike-throughs."""

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


def build(number: int, width: float, height: float, words: list[dict[str, Any]],
          rects: list[dict[str, Any]], lines: list[dict[str, Any]]) -> PageLayout:  # fmt: skip
    """Words (pdfplumber ``extract_words`` with ``size`` and ``fontname``) → lines → cells."""
    rows: list[list[dict[str, Any]]] = []
    for w in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        h = w["bottom"] - w["top"]
        for row in rows[-3:]:
            ref = row[0]
            if abs(ref["top"] - w["top"]) < 0.45 * h or abs(ref["bottom"] - w["bottom"]) < 0.3 * h:
                row.append(w)
                break
        else:
            rows.append([w])
    out = []
    for row in rows:
        row.sort(key=lambda w: w["x0"])
        cells: list[Cell] = []
        for w in row:
            size = w.get("size") or (w["bottom"] - w["top"])
            bold = "bold" in str(w.get("fontname", "")).lower()
            if cells and w["x0"] - cells[-1].x1 < 0.75 * size:
                c = cells[-1]
                c.text += " " + w["text"]
                c.x1, c.top = w["x1"], min(c.top, w["top"])
                c.bottom = max(c.bottom, w["bottom"])
            else:
                cells.append(Cell(w["text"], w["x0"], w["top"], w["x1"], w["bottom"], bold))
        out.append(Line(cells))
    out.sort(key=lambda ln: ln.top)
    boxes = [(r["x0"], r["top"], r["x1"], r["bottom"]) for r in rects]
    rules = [b for b in boxes if b[3] - b[1] < 2.0 and b[2] - b[0] > 5]
    rules += [
        (ln["x0"], ln["top"], ln["x1"], ln["bottom"])
        for ln in lines
        if abs(ln["bottom"] - ln["top"]) < 2.0 and ln["x1"] - ln["x0"] > 5
    ]
    boxes = [b for b in boxes if b[3] - b[1] >= 2.0 and b[2] - b[0] >= 2.0]
    return PageLayout(number, width, height, out, boxes, rules)


def struck(line: Line, rules: list[Box]) -> bool:
    """A rule drawn through the middle of most of the line's text (a struck-out row)."""
    x0, top, x1, bottom = line.box
    mid_lo, mid_hi = top + 0.25 * (bottom - top), bottom - 0.15 * (bottom - top)
    for rx0, rtop, rx1, rbottom in rules:
        y = (rtop + rbottom) / 2
        if mid_lo <= y <= mid_hi and min(rx1, x1) - max(rx0, x0) > 0.6 * (x1 - x0):
            return True
    return False
