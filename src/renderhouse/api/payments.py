"""``/v1/payments``: buy credit packs. Orders are created by users; the providers' callbacks
(Duitku form posts, Stripe-style signed webhooks) are unauthenticated and trusted only
after their signature (and, for Duitku, the transaction-status call) checks out.
Include with ``app.include_router(payments.router)``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from renderhouse.accounts import User
from renderhouse.api.auth import current_user
from renderhouse.api.schemas import ERRORS, Timestamp
from renderhouse.api.state import ApiState, api_state
from renderhouse.errors import NotConfigured
from renderhouse.ledger import duitku, orders, stripe_webhook
from renderhouse.ledger.errors import PaymentRejected

router = APIRouter(prefix="/v1/payments", tags=["payments"], responses=ERRORS)


class OrderCreate(BaseModel):
    pack: str = Field(min_length=1, max_length=64)
    provider: Literal["duitku", "stripe"] = "duitku"
    email: str | None = Field(None, max_length=255)


class OrderOut(BaseModel):
    id: str
    pack: str
    credits: int
    price: int
    currency: str
    provider: str
    state: str
    payment_url: str | None
    created_at: Timestamp


def _duitku(state: ApiState) -> duitku.DuitkuClient:
    """One client per app (its connection pool is shared by all requests)."""
    client = state.duitku_client
    if client is None:
        client = state.duitku_client = duitku.DuitkuClient(state.settings)
    return client


def _out(order: orders.Order) -> OrderOut:
    return OrderOut(**{k: v for k, v in order.to_dict().items() if k in OrderOut.model_fields})


@router.get("/packs")
def list_packs(
    _user: Annotated[User, Depends(current_user)], state: Annotated[ApiState, Depends(api_state)]
) -> dict[str, Any]:
    return {name: pack.model_dump() for name, pack in state.settings.credit_packs.items()}


@router.post("/orders", status_code=201, response_model=OrderOut)
def create_order(
    body: OrderCreate,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> OrderOut:
    """Start buying a pack. Duitku orders come back with the ``payment_url`` to send the
    buyer to; Stripe orders are paid through a Checkout Session whose
    ``metadata.order_id`` is this order's id."""
    rt = state.runtime
    with rt.store.begin() as conn:
        order = orders.create_order(
            conn, user.id, body.provider, body.pack, state.settings.credit_packs
        )
    if body.provider == "duitku":
        ref, url = _duitku(state).inquiry(order, body.email)
        with rt.store.begin() as conn:
            orders.attach_payment(conn, order.id, ref, url)
            order = orders.get_order(conn, order.id)
    return _out(order)


@router.get("/orders/{order_id}", response_model=OrderOut)
def get_order(
    order_id: str,
    user: Annotated[User, Depends(current_user)],
    state: Annotated[ApiState, Depends(api_state)],
) -> OrderOut:
    with state.runtime.store.read() as conn:
        return _out(orders.get_order(conn, order_id, user.id))


@router.post("/duitku/callback")
async def duitku_callback(
    request: Request, state: Annotated[ApiState, Depends(api_state)]
) -> dict[str, Any]:
    """Duitku's payment callback (form fields as Duitku posts them)."""
    form = await request.form()
    fields = {k: v for k, v in form.items() if isinstance(v, str)}

    return await run_in_threadpool(
        duitku.handle_callback, state.runtime.store, _duitku(state), fields
    )


@router.post("/stripe/webhook")
async def stripe_event(
    request: Request,
    state: Annotated[ApiState, Depends(api_state)],
    stripe_signature: Annotated[str | None, Header()] = None,
) -> dict[str, Any]:
    """Stripe-style webhook, verified with ``Stripe-Signature``."""
    secret = state.settings.stripe_webhook_secret
    if not secret:
        raise NotConfigured("set RENDERHOUSE_STRIPE_WEBHOOK_SECRET to accept Stripe webhooks")
    if not stripe_signature:
        raise PaymentRejected("the Stripe-Signature header is missing")
    payload = await request.body()
    return await run_in_threadpool(
        stripe_webhook.handle_event,
        state.runtime.store,
        payload,
        stripe_signature,
        secret,
        tolerance=state.settings.stripe_tolerance_seconds,
    )
