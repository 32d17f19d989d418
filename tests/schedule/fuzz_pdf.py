"""Hostile PDFs for fuzzing the schedule reader: valid schedules from the corpus, then
mutated the ways broken and malicious files are (truncated, bytes flipped, junk spliced in,
a stream swapped for a decompression bomb, the page count or encryption dictionary forged).

``run_pdf`` feeds one input through what a job does (upload type check, then extraction)
and returns ``"accepted"`` or the refusal's code; anything else escaping is a crash. To
join the shared fuzzer: ``register("pdf", pdf_files(), run_pdf)`` in tests/fuzz/targets.py."""

from __future__ import annotations

import tempfile
import zlib
from functools import cache
from pathlib import Path

from hypothesis import strategies as st

from renderhouse.errors import RenderhouseError
from renderhouse.generators.schedule.extract import extract
from renderhouse.generators.schedule.pdfdoc import Limits
from tests.schedule.corpus import make_sample

BASES = ("term_table", "fixtures_shuffled", "timetable_rows", "newsletter_dash")
BOMB = zlib.compress(b"\0" * (72 << 20), 1)


@cache
def bases() -> tuple[bytes, ...]:
    return tuple(make_sample(t, "en", 0).pdf for t in BASES)


@st.composite
def pdf_files(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(bases())))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["keep", "truncate", "flip", "splice", "bomb", "count",
                                     "encrypt", "header"]))  # fmt: skip
        if kind == "truncate":
            data = data[: draw(st.integers(0, len(data)))]
        elif kind == "flip" and data:
            for _ in range(draw(st.integers(1, 20))):
                i = draw(st.integers(0, len(data) - 1))
                data[i] = draw(st.integers(0, 255))
        elif kind == "splice":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(max_size=64))
        elif kind == "bomb":
            i = data.find(b"stream\n")
            j = data.find(b"endstream", i)
            if 0 <= i < j:
                data[i + 7 : j] = BOMB
        elif kind == "count":
            data = bytearray(bytes(data).replace(b"/Count 1", b"/Count 999999999", 1))
        elif kind == "encrypt":
            data = bytearray(bytes(data).replace(b"/Root", b"/Encrypt 99 0 R /Root", 1))
        elif kind == "header":
            data = data[draw(st.integers(1, 8)) :]
    return bytes(data)


def run_pdf(data: bytes) -> str:
    from renderhouse.api import filetypes

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.pdf"
        path.write_bytes(data)
        try:
            kind = filetypes.detect(path, 64 << 20, Path(tmp))
        except RenderhouseError as exc:
            return _refusal(exc)
        try:
            extract(path, limits=Limits(page_seconds=5))
        except RenderhouseError as exc:
            return _refusal(exc)
        if kind.content_type != "application/pdf":
            return "not_a_pdf"
        return "accepted"


def _refusal(exc: RenderhouseError) -> str:
    if not 400 <= exc.http_status < 500 or not exc.code or not exc.message:
        raise AssertionError(f"refusal without a 4xx code and sentence: {exc!r}") from exc
    return exc.code
