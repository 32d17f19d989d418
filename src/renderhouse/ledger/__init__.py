"""Credits and budgets: an append-only ledger of integer amounts, a balance cache that
can never go below zero, reservations settled exactly once when a job ends, budgets for
paid API calls and credit packs bought through payment providers.

How the rest of Renderhouse uses it: ``install(queue)`` once (the runtime does), then
``enqueue_paid(queue, conn, new_job)`` or the API's ``before_enqueue`` hook to reserve in
the enqueue transaction; ``reconcile(conn)`` proves the books."""

from renderhouse.ledger.accounts import Balance, adjust, balance, entries, grant
from renderhouse.ledger.budgets import BudgetHold, reserve_budget, set_budget, settle_budget
from renderhouse.ledger.errors import (
    BudgetExhausted,
    InsufficientCredits,
    PaymentNotConfirmed,
    PaymentRejected,
)
from renderhouse.ledger.reconcile import Report, reconcile
from renderhouse.ledger.reservations import (
    before_enqueue,
    enqueue_paid,
    install,
    reservation_gate,
    reserve,
    settle,
)

__all__ = [
    "Balance",
    "BudgetExhausted",
    "BudgetHold",
    "InsufficientCredits",
    "PaymentNotConfirmed",
    "PaymentRejected",
    "Report",
    "adjust",
    "balance",
    "before_enqueue",
    "enqueue_paid",
    "entries",
    "grant",
    "install",
    "reconcile",
    "reservation_gate",
    "reserve",
    "reserve_budget",
    "set_budget",
    "settle",
    "settle_budget",
]
