"""The ``schedule`` generator: a schedule PDF in; events.json, calendar.ics and a review
page out. Importing it stays cheap: pdfplumber, pypdfium2 and icalendar load on ``run``."""

from __future__ import annotations

from typing import Any, ClassVar

from renderhouse.generators.base import Generator, Resources
from renderhouse.generators.context import Context
from renderhouse.generators.schedule.options import ScheduleInput

__all__ = ["ScheduleGenerator", "ScheduleInput"]


class ScheduleGenerator(Generator):
    kind: ClassVar[str] = "schedule"
    Input: ClassVar[type[ScheduleInput]] = ScheduleInput
    resources: ClassVar[Resources] = Resources(cpu=1.0, memory_mb=512, isolated=True)
    default_timeout: ClassVar[float] = 300.0
    description: ClassVar[str] = "Extract calendar events (ICS, JSON) from a schedule PDF"

    def estimate_cost(self, input: Any) -> int:
        return 1

    def run(self, ctx: Context, input: Any) -> dict[str, Any]:
        from renderhouse.generators.schedule.job import run_schedule

        return run_schedule(ctx, input)
