"""Bad PDFs fail with a code and a sentence, in bounded time and memory, as final input
errors (InvalidInput: never retried)."""

from __future__ import annotations

import io
import time
import zlib
from pathlib import Path

import pytest
from reportlab.pdfgen.canvas import Canvas

from renderhouse.errors import InvalidInput
from renderhouse.generators.schedule.extract import extract
from renderhouse.generators.schedule.pdfdoc import Limits
from tests.schedule.corpus import make_sample


def _pdf(draw, **kw) -> bytes:  # type: ignore[no-untyped-def]
    buf = io.BytesIO()
    c = Canvas(buf, **kw)
    draw(c)
    c.save()
    return buf.getvalue()


def _code(tmp_path: Path, data: bytes, limits: Limits | None = None) -> str:
    path = tmp_path / "in.pdf"
    path.write_bytes(data)
    with pytest.raises(InvalidInput) as info:
        extract(path, limits=limits)
    assert info.value.message and info.value.http_status == 422
    return info.value.code


def test_encrypted(tmp_path: Path) -> None:
    data = _pdf(lambda c: c.drawString(50, 700, "Fixtures 14 March 2026 15:00"), encrypt="pw")
    assert _code(tmp_path, data) == "pdf_encrypted"


def test_image_only_says_no_ocr(tmp_path: Path) -> None:
    from PIL import Image

    img = tmp_path / "scan.png"
    Image.new("RGB", (200, 100), "white").save(img)
    data = _pdf(lambda c: c.drawImage(str(img), 50, 500))
    path = tmp_path / "in.pdf"
    path.write_bytes(data)
    with pytest.raises(InvalidInput) as info:
        extract(path)
    assert info.value.code == "pdf_no_text" and "OCR" in info.value.message


@pytest.mark.parametrize("cut", [0.3, 0.6])
def test_truncated_and_garbage(tmp_path: Path, cut: float) -> None:
    data = make_sample("term_table", "en", 0).pdf
    assert _code(tmp_path, data[: int(len(data) * cut)]) in {"pdf_corrupt", "pdf_no_text"}
    assert _code(tmp_path, b"hello, not a pdf") == "pdf_corrupt"


def test_thousands_of_pages(tmp_path: Path) -> None:
    data = _pdf(lambda c: [c.showPage() for _ in range(3000)])
    started = time.monotonic()
    assert _code(tmp_path, data) == "pdf_too_large"
    assert time.monotonic() - started < 10


def test_file_size_limit(tmp_path: Path) -> None:
    data = make_sample("term_table", "en", 0).pdf
    assert _code(tmp_path, data, Limits(max_bytes=1000)) == "pdf_too_large"


def test_decompression_bomb(tmp_path: Path) -> None:
    payload = zlib.compress(b"\0" * (72 << 20), 1)  # 72 MiB of zeros (limit: 64) in ~300 KiB
    body = (
        b"%PDF-1.4\n" + b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
        + b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 600 800]/Contents 4 0 R>>endobj\n"
        + b"4 0 obj<</Length %d/Filter/FlateDecode>>stream\n" % len(payload)
        + payload
        + b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    )
    started = time.monotonic()
    assert _code(tmp_path, body) == "pdf_bomb"
    assert time.monotonic() - started < 10


def test_no_schedule_in_it(tmp_path: Path) -> None:
    data = _pdf(lambda c: c.drawString(50, 700, "Minutes of the meeting. Nothing was decided."))
    assert _code(tmp_path, data) == "no_events_found"


def test_a_page_of_too_many_characters(tmp_path: Path) -> None:
    def draw(c: Canvas) -> None:
        c.setFont("Helvetica", 4)
        for k in range(200):
            c.drawString(10, 10 + 4 * k, "14.03.2026 19:00 " * 12)

    assert _code(tmp_path, _pdf(draw), Limits(max_chars_per_page=20_000)) == "pdf_too_large"
