"""Schedule extraction: event-level P/R/F1 (micro, per family, tuned vs held-out templates,
after RRULE expansion), pages/s, peak RSS, and a 20-page PDF end to end (PDF → events.json,
calendar.ics, review.html) on the synthetic corpus in tests/schedule/corpus.

    .venv/bin/python benchmarks/schedule_extraction.py [--per-cell 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.schedule.corpus import make_corpus, make_sample, split_of
from tests.schedule.corpus.score import Counts, expand, match

from renderhouse.generators.local_context import LocalContext
from renderhouse.generators.schedule import ScheduleGenerator
from renderhouse.generators.schedule.extract import extract


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-cell", type=int, default=3, help="documents per template x locale")
    ap.add_argument("--seed", type=int, default=1000)
    args = ap.parse_args()
    corpus = make_corpus(args.per_cell, args.seed)
    tmp = Path(tempfile.mkdtemp())
    fam: dict[str, Counts] = defaultdict(Counts)
    split: dict[str, Counts] = defaultdict(Counts)
    micro, expanded = Counts(), Counts()
    pages = 0
    seconds = 0.0
    for s in corpus:
        path = tmp / f"{s.name}.pdf"
        path.write_bytes(s.pdf)
        t0 = time.perf_counter()
        x = extract(path)
        seconds += time.perf_counter() - t0
        pages += len(x.pages)
        got = [e.to_dict() for e in x.events]
        c = match(s.events, got)
        for bucket in (fam[s.family], split[split_of(s.template)],
                       micro):  # fmt: skip
            bucket.add(c)
        expanded.add(match(expand(s.events), expand(got)))
    print(f"documents {len(corpus)}, pages {pages}, truth events {micro.tp + micro.fn}")
    print(f"{'':12s} {'P':>6s} {'R':>6s} {'F1':>6s}")
    for name, c in [("micro", micro), ("expanded", expanded), *sorted(split.items()),
                    *sorted(fam.items())]:  # fmt: skip
        print(f"{name:12s} {c.precision:6.3f} {c.recall:6.3f} {c.f1:6.3f}")
    print(f"extraction (pdfium reader): {pages / seconds:.1f} pages/s ({seconds:.2f} s)")
    # the reference reader on the same files, right after, for a ratio under the same load
    t0 = time.perf_counter()
    for s in corpus:
        extract(tmp / f"{s.name}.pdf", reader="pdfplumber")
    slow = time.perf_counter() - t0
    print(f"extraction (pdfplumber reader): {pages / slow:.1f} pages/s ({slow:.2f} s); "
          f"pdfium is {slow / seconds:.1f}x faster")  # fmt: skip
    # a 20-page document end to end: fixtures repeated over 20 pages
    pdf = _twenty_pages(tmp)
    t0 = time.perf_counter()
    gen = ScheduleGenerator()
    result = gen.run(LocalContext(tmp / "e2e"), gen.parse_input({"pdf": str(pdf)}))
    print(f"20-page end to end: {time.perf_counter() - t0:.2f} s, {result['pages']} pages, "
          f"{len(result['events'])} events")  # fmt: skip
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def _twenty_pages(tmp: Path) -> Path:
    import pypdfium2 as pdfium

    merged = pdfium.PdfDocument.new()
    k = 0
    while len(merged) < 20:
        part = pdfium.PdfDocument(make_sample("fixtures_columns", "en", k).pdf)
        merged.import_pages(part)
        k += 1
    merged.del_page(len(merged) - 1) if len(merged) > 20 else None
    out = tmp / "twenty.pdf"
    merged.save(out)
    return out


if __name__ == "__main__":
    main()
