"""Offset paging, as the API's list routes of stored things (avatars, canons, an avatar's
uses) answer it: ``?offset=&limit=`` in; a page of ``data``, the ``total`` and the
``next_offset`` to ask for next (null on the last page) out."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

MAX_PAGE = 200
"""The most rows one page holds."""

Offset = Annotated[int, Query(ge=0, le=1_000_000)]
"""How many rows to skip (``= 0`` in a route's signature)."""
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE)]
"""How many rows at most (``= 50`` in a route's signature)."""


def next_offset(offset: int, returned: int, total: int) -> int | None:
    """Where the next page starts, or None when this one reached the end."""
    end = offset + returned
    return end if end < total else None


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a list route: subclass it per item type, so the schema keeps its name
    (``class CanonPage(Page[CanonSummary])``)."""

    data: list[T]
    total: int
    next_offset: int | None
