"""Event-level scoring: one-to-one matching per document, precision, recall, F1, and the
same after expanding RRULE series into their occurrences.

Two events match when both are all-day on the same dates (start, and inclusive last day or
both none), or both timed with starts within a minute and ends within a minute or both
none; and their titles' token-set similarity is at least 0.8 (the token-set ratio of
fuzzy string matching: the best of the sequence ratios between the shared tokens and each
side's full sorted token string)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from difflib import SequenceMatcher
from typing import Any

from dateutil.rrule import rrulestr


def tokens(s: str) -> set[str]:
    return set(re.findall(r"\w+", s.casefold()))


def token_set_similarity(a: str, b: str) -> float:
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 1.0 if ta == tb else 0.0
    common = " ".join(sorted(ta & tb))
    sa = (common + " " + " ".join(sorted(ta - tb))).strip()
    sb = (common + " " + " ".join(sorted(tb - ta))).strip()

    def ratio(x: str, y: str) -> float:
        return SequenceMatcher(None, x, y).ratio()

    return max(ratio(common, sa), ratio(common, sb), ratio(sa, sb)) if common else ratio(sa, sb)


def _when(v: str | None) -> datetime | date | None:
    if v is None:
        return None
    return datetime.fromisoformat(v) if "T" in v else date.fromisoformat(v)


def same_event(truth: dict[str, Any], got: dict[str, Any]) -> bool:
    if bool(truth["all_day"]) != bool(got["all_day"]):
        return False
    ts, gs = _when(truth["start"]), _when(got["start"])
    te, ge = _when(truth["end"]), _when(got["end"])
    if truth["all_day"]:
        if ts != gs or te != ge:
            return False
    else:
        assert isinstance(ts, datetime) and isinstance(gs, datetime)
        if abs((ts - gs).total_seconds()) > 60:
            return False
        if (te is None) != (ge is None):
            return False
        both = isinstance(te, datetime) and isinstance(ge, datetime)
        if both and abs((te - ge).total_seconds()) > 60:  # type: ignore[operator]
            return False
    return token_set_similarity(truth["title"], got["title"]) >= 0.8


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def match(truth: list[dict[str, Any]], got: list[dict[str, Any]]) -> Counts:
    """Greedy one-to-one: each truth event takes the first unused extracted event it matches,
    trying the best title similarity first."""
    unused = list(range(len(got)))
    tp = 0
    for t in truth:
        candidates = [i for i in unused if same_event(t, got[i])]
        if candidates:
            best = max(candidates, key=lambda i: token_set_similarity(t["title"], got[i]["title"]))
            unused.remove(best)
            tp += 1
    return Counts(tp=tp, fp=len(unused), fn=len(truth) - tp)


def expand(events: list[dict[str, Any]], limit: int = 400) -> list[dict[str, Any]]:
    """Each RRULE series as its occurrences (EXDATEs removed), others as they are."""
    out = []
    for e in events:
        if not e.get("rrule"):
            out.append(e)
            continue
        start = _when(e["start"])
        end = _when(e["end"])
        assert isinstance(start, datetime)
        excluded = {datetime.fromisoformat(x) for x in e.get("exdate") or []}
        rule = rrulestr(e["rrule"], dtstart=start)
        for n, occ in enumerate(rule):
            if n >= limit:
                break
            if occ in excluded:
                continue
            shift = occ - start
            out.append(
                {
                    **e,
                    "rrule": None,
                    "start": occ.isoformat(),
                    "end": (end + shift).isoformat() if isinstance(end, datetime) else None,
                }
            )
    return out
