"""Calendar sync through the platform's path: N events sealed-credential-unsealed and synced
into a real Radicale server (started here on loopback), then synced again unchanged, then
after one event moved. Prints seconds and events/s per step, and the re-sync / first-sync
ratio (a re-sync reads the calendar and writes nothing).

    .venv/bin/python benchmarks/calendar_sync.py [--events 20 100 300]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.schedule.radicale_server import radicale

from renderhouse.calendars import sealing
from renderhouse.generators.schedule.caldav_sync import SyncReport, open_calendar, sync
from renderhouse.generators.schedule.events import Event


def events(n: int) -> list[Event]:
    start = datetime(2026, 3, 2, 18, 0)
    return [
        Event(f"Match {i}: Riverside v Harbour {i}", start + timedelta(days=i),
              start + timedelta(days=i, hours=2), page=1, bbox=(0, 0, 1, 1),
              location=f"Ground {i % 7}", timezone="Europe/London")
        for i in range(n)
    ]  # fmt: skip


def timed_sync(url: str, name: str, evs: list[Event]) -> tuple[SyncReport, float]:
    """One sync as the duty runs it: open the calendar, then sync."""
    t = time.perf_counter()
    out = sync(open_calendar(url, "b", "pw", name), evs, "bench.pdf")
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, nargs="+", default=[20, 100, 300])
    args = ap.parse_args()
    key = "k" * 48
    sealed = sealing.seal(key, "cal_bench", "pw")
    n_unseal = 2000
    t = time.perf_counter()
    for _ in range(n_unseal):
        sealing.unseal(key, "cal_bench", sealed)
    t = time.perf_counter() - t
    print(f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"unseal (HKDF + Fernet): {t / n_unseal * 1e6:.0f} us")
    print("events  first_s  first_ev/s  resync_s  resync/first  one_moved_s")
    with tempfile.TemporaryDirectory() as folder, radicale(Path(folder)) as url:
        for n in args.events:
            evs = events(n)
            name = f"bench-{n}"
            r1, t1 = timed_sync(url, name, evs)
            r2, t2 = timed_sync(url, name, evs)
            assert len(r1.created) == n and r2.unchanged == n
            moved = list(evs)
            moved[0] = Event(evs[0].title, evs[0].start + timedelta(hours=1), None, 1,
                             (0, 0, 1, 1), evs[0].location, evs[0].timezone)  # fmt: skip
            r3, t3 = timed_sync(url, name, moved)
            assert len(r3.updated) == 1 and r3.unchanged == n - 1
            print(f"{n:6d}  {t1:7.2f}  {n / t1:10.0f}  {t2:8.2f}  {t2 / t1:12.2f}  {t3:11.2f}")


if __name__ == "__main__":
    main()
