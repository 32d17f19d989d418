"""Admin: users and API keys (``/v1/admin/users``, ``/v1/admin/keys``), and ``/v1/me`` for
any caller. A new key is in the creation response only; it is stored hashed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from renderhouse import accounts, webhooks
from renderhouse.accounts import User
from renderhouse.api.auth import admin_user, current_user
from renderhouse.api.schemas import ERRORS
from renderhouse.api.state import ApiState, api_state
from renderhouse.timestamps import rfc3339

router = APIRouter(tags=["users"], responses=ERRORS)


class UserCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    org: str | None = Field(None, max_length=255)
    is_admin: bool = False


class KeyCreate(BaseModel):
    user: str = Field(min_length=1, max_length=255, description="user id or name")
    scope: Literal["user", "admin"] = "user"
    name: str = Field("", max_length=255)


@router.get("/v1/me")
def me(
    user: Annotated[User, Depends(current_user)], state: Annotated[ApiState, Depends(api_state)]
) -> dict[str, Any]:
    """Who you are, and the secret that signs your webhooks."""
    return {
        **user.to_dict(),
        "scope": user.scope,
        "key_prefix": user.key_prefix,
        "webhook_secret": webhooks.user_secret(state.settings.secret_key, user.id),
    }


@router.get("/v1/admin/users")
def list_users(
    _: Annotated[User, Depends(admin_user)], state: Annotated[ApiState, Depends(api_state)]
) -> list[dict[str, Any]]:
    with state.runtime.store.read() as conn:
        return [u.to_dict() for u in accounts.list_users(conn)]


@router.post("/v1/admin/users", status_code=201)
def create_user(
    body: UserCreate,
    _: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> dict[str, Any]:
    """Create a user; it gets the starter credits (RENDERHOUSE_STARTER_CREDITS) once."""
    from renderhouse.ledger.starter import grant_starter

    with state.runtime.store.begin() as conn:
        user = accounts.create_user(conn, body.name, org=body.org, is_admin=body.is_admin)
        granted = grant_starter(conn, user.id, state.settings.starter_credits)
    return {**user.to_dict(), "starter_credits": state.settings.starter_credits if granted else 0}


@router.get("/v1/admin/keys")
def list_keys(
    _: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
    user: str | None = None,
) -> list[dict[str, Any]]:
    with state.runtime.store.read() as conn:
        user_id = accounts.find_user(conn, user).id if user else None
        rows = accounts.list_keys(conn, user_id)
    times = ("created_at", "last_used_at", "revoked_at", "expires_at")
    return [{k: rfc3339(v) if k in times and v else v for k, v in r.items()} for r in rows]


@router.post("/v1/admin/keys", status_code=201)
def create_key(
    body: KeyCreate,
    _: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> dict[str, Any]:
    """Returns the key once; store it now."""
    with state.runtime.store.begin() as conn:
        owner = accounts.find_user(conn, body.user)
        key = accounts.create_key(conn, owner, scope=body.scope, name=body.name)
    prefix, _secret = accounts.split_key(key) or ("", "")
    return {"key": key, "prefix": prefix, "user_id": owner.id, "scope": body.scope}


@router.delete("/v1/admin/keys/{prefix}", status_code=204)
def revoke_key(
    prefix: str,
    _: Annotated[User, Depends(admin_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> None:
    with state.runtime.store.begin() as conn:
        accounts.revoke_key(conn, prefix)
    state.keys.clear()
