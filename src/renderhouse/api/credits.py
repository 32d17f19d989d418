"""``/v1/credits``: your balance and ledger; admin grants, adjustments and the books'
reconciliation. Include with ``app.include_router(credits.router)``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from renderhouse import ledger
from renderhouse.accounts import User, find_user
from renderhouse.api.auth import admin_user, current_user
from renderhouse.api.schemas import ERRORS, Timestamp
from renderhouse.api.state import ApiState, api_state

router = APIRouter(tags=["credits"], responses=ERRORS)

MAX_PAGE = 200


class BalanceOut(BaseModel):
    account: str
    available: int = Field(description="credits you can spend now")
    held: int = Field(description="credits reserved by your unfinished jobs")


class EntryOut(BaseModel):
    id: int
    kind: str
    amount: int
    job_id: str | None
    round: int = Field(0, description="a job's run: 0, then +1 per paid manual retry")
    reason: str
    provider: str | None
    created_at: Timestamp


class LedgerPage(BaseModel):
    data: list[EntryOut]
    next_cursor: int | None


class CreditChange(BaseModel):
    user: str = Field(min_length=1, max_length=255, description="user id or name")
    amount: int = Field(description="positive for a grant; signed for an adjustment")
    reason: str = Field(min_length=1, max_length=500)
    kind: Literal["grant", "adjustment"] = "grant"


@router.get("/v1/credits", response_model=BalanceOut)
def get_balance(
    user: Annotated[User, Depends(current_user)], state: Annotated[ApiState, Depends(api_state)]
) -> BalanceOut:
    with state.runtime.store.read() as conn:
        return BalanceOut(**ledger.balance(conn, user.id).to_dict())


@router.get("/v1/credits/ledger", response_model=LedgerPage)
def get_ledger(
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
    cursor: Annotated[int | None, Query(ge=1, description="next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> LedgerPage:
    """Your credit movements, newest first."""
    with state.runtime.store.read() as conn:
        page = ledger.entries(conn, user.id, before_id=cursor, limit=limit)
    return LedgerPage(
        data=[EntryOut(**e) for e in page],
        next_cursor=page[-1]["id"] if len(page) == limit else None,
    )


@router.post("/v1/admin/credits", response_model=BalanceOut)
def change_credits(
    body: CreditChange,
    admin: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> BalanceOut:
    """Grant credits or adjust a balance, with the reason kept in the ledger."""
    with state.runtime.store.begin() as conn:
        target = find_user(conn, body.user)
        change = ledger.grant if body.kind == "grant" else ledger.adjust
        after = change(conn, target.id, body.amount, body.reason, actor=admin.id)
    return BalanceOut(**after.to_dict())


@router.get("/v1/admin/credits/reconcile")
def reconcile(
    _admin: Annotated[User, Depends(admin_user)], state: Annotated[ApiState, Depends(api_state)]
) -> dict[str, Any]:
    """Prove cached balances equal the ledger and every paid job settled exactly once."""
    with state.runtime.store.read() as conn:
        return ledger.reconcile(conn).to_dict()
