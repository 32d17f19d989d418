"""Opening an untrusted PDF within bounds, then reading its pages' words and strokes.

Checks run before pdfminer parses anything, because pdfminer inflates every stream whole:
the file size, every Flate stream's inflated size (a decompression bomb is refused after
``max_stream_mb`` of output, read in chunks), then pdfium's own open (encryption, damage,
page count). Pages are read one at a time under a per-page time limit."""

from __future__ import annotations

import re
import signal
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from renderhouse.generators.schedule.errors import refuse
from renderhouse.generators.schedule.layout import PageLayout, build


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 50 * 1024 * 1024
    max_pages: int = 300
    max_stream_bytes: int = 64 * 1024 * 1024
    max_total_inflated: int = 256 * 1024 * 1024
    page_seconds: float = 10.0
    max_chars_per_page: int = 100_000
    """A schedule page holds a few thousand; far more is a text dump or a hostile file."""


_STREAM_RE = re.compile(rb"stream\r?\n")
_FLATE_RE = re.compile(rb"/(?:FlateDecode|Fl)\b")


def check_streams(data: bytes, limits: Limits) -> None:
    """Inflate each Flate stream in 1 MiB steps and stop at the limit (memory stays at a
    few MiB whatever the stream claims)."""
    total = 0
    for m in _STREAM_RE.finditer(data):
        head = data[max(0, m.start() - 512) : m.start()]
        if not _FLATE_RE.search(head[head.rfind(b"<<") :] if b"<<" in head else head):
            continue
        end = data.find(b"endstream", m.end())
        body = data[m.end() : end if end > 0 else len(data)]
        inflater = zlib.decompressobj()
        produced = 0
        pos = 0
        try:
            while pos < len(body):
                chunk = inflater.decompress(body[pos : pos + 65536], 1 << 20)
                produced += len(chunk)
                while inflater.unconsumed_tail and produced <= limits.max_stream_bytes:
                    chunk = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
                    produced += len(chunk)
                if produced > limits.max_stream_bytes:
                    break
                pos += 65536
                if inflater.eof:
                    break
        except zlib.error:
            continue  # a damaged stream: pdfium decides whether the file is usable
        total += produced
        if produced > limits.max_stream_bytes or total > limits.max_total_inflated:
            raise refuse(
                "pdf_bomb",
                "the PDF holds a compressed stream that inflates to more than "
                f"{limits.max_stream_bytes >> 20} MiB (a decompression bomb); export the "
                "schedule again from its original application",
                limit_mb=limits.max_stream_bytes >> 20,
            )


def open_checked(path: Path, limits: Limits) -> int:
    """The page count of a PDF that passed every check, else a ScheduleInputError."""
    import pypdfium2 as pdfium

    size = path.stat().st_size
    if size > limits.max_bytes:
        raise refuse(
            "pdf_too_large",
            f"the PDF is {size / 2**20:.1f} MiB; the limit is {limits.max_bytes >> 20} MiB: "
            "split it or export only the schedule pages",
            size=size,
        )
    data = path.read_bytes()
    if not data.lstrip()[:5].startswith(b"%PDF-"):
        raise refuse("pdf_corrupt", "the file is not a PDF (it has no %PDF- header)")
    check_streams(data, limits)
    try:
        doc = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        text = str(exc).lower()
        if "password" in text:
            raise refuse(
                "pdf_encrypted",
                "the PDF is password-protected; open it, save a copy without a password "
                "and upload that",
            ) from None
        raise refuse(
            "pdf_corrupt", f"the PDF cannot be read ({exc}); it may be truncated or damaged"
        ) from None
    try:
        pages = len(doc)
    finally:
        doc.close()
    if pages == 0:
        raise refuse("pdf_corrupt", "the PDF has no pages")
    if pages > limits.max_pages:
        raise refuse(
            "pdf_too_large",
            f"the PDF has {pages} pages; the limit is {limits.max_pages}: upload only the "
            "pages that hold the schedule",
            pages=pages,
        )
    if b"/Encrypt" in data:
        # pdfium opened it with an empty user password; pdfminer may still not decrypt it
        raise refuse(
            "pdf_encrypted",
            "the PDF is encrypted; save a copy without encryption (print to PDF) and upload that",
        )
    return pages


@contextmanager
def page_deadline(seconds: float, page: int) -> Iterator[None]:
    """SIGALRM-bounded page parsing where we own the main thread (pool children, the CLI);
    elsewhere the page is measured after the fact."""
    use_alarm = threading.current_thread() is threading.main_thread() and hasattr(
        signal, "setitimer"
    )
    started = time.monotonic()

    def expire(signum: int, frame: Any) -> None:
        raise refuse(
            "page_too_slow",
            f"page {page} took longer than {seconds:g} s to read; it is probably a scan or a "
            "drawing, not a schedule",
            page=page,
        )

    if use_alarm:
        previous = signal.signal(signal.SIGALRM, expire)
        signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        if use_alarm:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
    if time.monotonic() - started > seconds:
        expire(0, None)


def read_pages(path: Path, limits: Limits) -> Iterator[tuple[PageLayout, int]]:
    """(layout, image count) per page, in order."""
    import pdfplumber
    from pdfminer.pdfparser import PDFSyntaxError

    try:
        pdf = pdfplumber.open(path)
    except (PDFSyntaxError, ValueError, KeyError, TypeError) as exc:
        raise refuse("pdf_corrupt", f"the PDF cannot be parsed ({exc})") from None
    with pdf:
        for number, page in enumerate(pdf.pages, start=1):
            with page_deadline(limits.page_seconds, number):
                try:
                    words = page.extract_words(extra_attrs=["size", "fontname"])
                    layout = build(
                        number, float(page.width), float(page.height), words, page.rects,
                        page.lines,
                    )  # fmt: skip
                    images = len(page.images)
                except (PDFSyntaxError, ValueError, KeyError, TypeError, AttributeError) as exc:
                    raise refuse(
                        "pdf_corrupt", f"page {number} cannot be parsed ({exc})", page=number
                    ) from None
            page.close()
            yield layout, images
