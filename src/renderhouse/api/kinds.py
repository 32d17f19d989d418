"""``GET /v1/kinds``: the job kinds a caller may submit, each with its input's JSON Schema, so
clients (and the dashboard's submit form) can build a valid ``input`` without reading code.
Upload fields carry ``x-renderhouse-file`` (accepted content types, size limit): send them an
``upload:<id>`` from ``POST /v1/uploads``. Internal kinds (webhook deliveries, scheduled
backups) are not listed, as the API refuses them."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from renderhouse.accounts import User
from renderhouse.api.auth import current_user
from renderhouse.api.schemas import ERRORS
from renderhouse.api.state import ApiState, api_state

router = APIRouter(tags=["jobs"], responses=ERRORS)


class KindOut(BaseModel):
    kind: str
    description: str
    default_timeout: float = Field(description="seconds a job may run before it is stopped")
    paid_providers: list[str] = Field(description="paid APIs its jobs may call (budgets apply)")
    input_schema: dict[str, Any] = Field(description="JSON Schema of the job's input")


class KindList(BaseModel):
    data: list[KindOut]


@router.get("/v1/kinds", response_model=KindList)
def list_kinds(
    _: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> KindList:
    """The job kinds you can submit, with their input schemas."""
    registry = state.runtime.registry
    out = []
    for kind in registry.public_kinds():
        cls = registry.cls(kind)
        out.append(
            KindOut(
                kind=kind,
                description=cls.description or (cls.__doc__ or "").strip().split("\n")[0],
                default_timeout=cls.default_timeout,
                paid_providers=list(cls.paid_providers),
                input_schema=cls.Input.model_json_schema(),
            )
        )
    return KindList(data=out)
