"""The ``schedule`` job's input."""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, Field, field_validator

from renderhouse.generators.fields import UploadedFile


class ScheduleInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pdf: Annotated[str, UploadedFile("application/pdf", max_mb=50)]
    timezone: str | None = Field(None, description="IANA zone for times the PDF gives none")
    date_order: Literal["DMY", "MDY", "YMD"] | None = Field(
        None, description="else inferred from the document's unambiguous dates"
    )
    year: int | None = Field(None, ge=1900, le=2200, description="for dates without a year")
    locale: Literal["en", "de", "fr", "es"] | None = Field(
        None, description="a hint; all four are always read"
    )
    calendar_name: str | None = Field(None, max_length=200)
    page_seconds: float = Field(10.0, gt=0, le=120, description="time limit per page")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is not None and v not in available_timezones():
            raise ValueError(f"unknown IANA time zone {v!r} (e.g. Europe/Berlin)")
        return v
