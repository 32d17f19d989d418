"""The codes a schedule job fails with. Every one is bad input (``InvalidInput``, final:
never retried) with a sentence that says what to do instead."""

from __future__ import annotations

from renderhouse.errors import InvalidInput


class ScheduleInputError(InvalidInput):
    """``code`` is one of: pdf_encrypted, pdf_no_text, pdf_too_large, pdf_corrupt,
    pdf_bomb, no_events_found, page_too_slow."""


def refuse(code: str, message: str, **details: object) -> ScheduleInputError:
    return ScheduleInputError(message, code=code, details=dict(details))
