"""Budgets: spending caps in money on generators' paid API calls, per key (a user id,
``org:<name>``, ``provider:<name>``) and period (UTC ``day`` or ``month``). Admins set and
list them (``/v1/admin/budgets``); any caller sees the budgets it draws on
(``/v1/budgets``). A job of a kind that declares ``paid_providers`` is refused at
submission (402 ``budget_exhausted``) while one of its budgets is used up."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Response
from pydantic import BaseModel, Field
from sqlalchemy import Connection

from renderhouse.accounts import User
from renderhouse.api.auth import admin_user, current_user
from renderhouse.api.schemas import ERRORS
from renderhouse.api.state import ApiState, EnqueueHook, api_state
from renderhouse.ledger import budgets, metering
from renderhouse.queue.enqueue import NewJob
from renderhouse.runtime import Runtime

router = APIRouter(tags=["budgets"], responses=ERRORS)

Key = Annotated[
    str,
    Path(
        pattern=r"^[A-Za-z0-9_.@:-]{1,128}$",
        description="a user id, org:<name> or provider:<name>",
    ),
]
Period = Annotated[Literal["day", "month"], Path(description="UTC day or month")]


class BudgetLimit(BaseModel):
    # Strict: the document says integer, so `true` or "5" are refused, not coerced.
    limit: int = Field(ge=0, le=2**62, strict=True, description="most the key may spend per period")


class BudgetOut(BaseModel):
    key: str
    period: str
    window: str = Field(description="the current period, e.g. 2027-01-15 or 2027-01")
    limit: int | None = Field(description="null: no cap, spend is only tracked")
    spent: int
    held: int = Field(description="held by paid calls in flight")
    remaining: int | None


class BudgetList(BaseModel):
    data: list[BudgetOut]


@router.put("/v1/admin/budgets/{key}/{period}", response_model=BudgetOut)
def set_budget(
    key: Key,
    period: Period,
    body: BudgetLimit,
    _admin: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> BudgetOut:
    """Cap ``key``'s spend per ``period``; it applies to calls made from now on."""
    with state.runtime.store.begin() as conn:
        budgets.set_budget(conn, key, period, body.limit)
        return BudgetOut(**budgets.budget_status(conn, key, period))


@router.delete("/v1/admin/budgets/{key}/{period}", status_code=204)
def remove_budget(
    key: Key,
    period: Period,
    _admin: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> Response:
    """Remove the cap (spend is still tracked)."""
    with state.runtime.store.begin() as conn:
        budgets.set_budget(conn, key, period, None)
    return Response(status_code=204)


@router.get("/v1/admin/budgets", response_model=BudgetList)
def list_budgets(
    _admin: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> BudgetList:
    """Every budget with its current window's spend."""
    with state.runtime.store.read() as conn:
        return BudgetList(data=[BudgetOut(**s) for s in budgets.list_budgets(conn)])


@router.get("/v1/budgets", response_model=BudgetList)
def my_budgets(
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> BudgetList:
    """The budgets your jobs draw on (your user id and your org), capped or not."""
    with state.runtime.store.read() as conn:
        keys = metering.budget_keys(conn, user.id)
        return BudgetList(
            data=[
                BudgetOut(**budgets.budget_status(conn, k, p))
                for k in keys
                for p in budgets.PERIODS
            ]
        )


def refuse_spent_budgets(runtime: Runtime) -> EnqueueHook:
    """The ``before_enqueue`` hook that refuses a paid-API job whose budget is used up (the
    registry is looked up per call: tests and plugins may replace it after start-up). It
    reads the database only for kinds that call paid APIs."""

    def check(conn: Connection, user: Any, new_job: NewJob) -> NewJob | None:
        providers = runtime.registry.cls(new_job.kind).paid_providers
        if providers:
            metering.refuse_if_exhausted(conn, metering.budget_keys(conn, new_job.owner, providers))
        return None

    def reads_database(kind: str) -> bool:
        return bool(runtime.registry.cls(kind).paid_providers)

    return EnqueueHook(check, reads_database)
