"""Synthetic schedule PDFs with ground truth (reportlab), for the tests and the benchmark.

Each template draws one family of schedule in one locale with random content and returns
the PDF bytes with the events a careful person would enter. Templates are split into
``TUNED`` (the extractor was developed against them) and ``HELD_OUT`` (never looked at
while tuning), so the benchmark can report both. ``late`` holds three more written after the first
benchmark (measured once before any change they prompted; see docs/benchmarks.md)."""

from tests.schedule.corpus.documents import (
    HELD_OUT,
    TUNED,
    Sample,
    make_corpus,
    make_sample,
    split_of,
)

__all__ = ["HELD_OUT", "TUNED", "Sample", "make_corpus", "make_sample", "split_of"]
