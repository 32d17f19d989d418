"""Errors of the credits ledger, budgets and payments (mapped to HTTP at the API edge)::

RenderhouseError (renderhouse.errors)
├── InsufficientCredits   insufficient_credits   402
├── BudgetExhausted       budget_exhausted       402 (defined in renderhouse.errors)
├── PaymentRejected       payment_rejected       400 (forged, malformed, stale)
└── PaymentNotConfirmed   payment_not_confirmed  409 (the provider retries later)
"""

from __future__ import annotations

from renderhouse.errors import BudgetExhausted, RenderhouseError

__all__ = ["BudgetExhausted", "InsufficientCredits", "PaymentNotConfirmed", "PaymentRejected"]


class InsufficientCredits(RenderhouseError):
    code = "insufficient_credits"
    http_status = 402


class PaymentRejected(RenderhouseError):
    code = "payment_rejected"
    http_status = 400


class PaymentNotConfirmed(RenderhouseError):
    code = "payment_not_confirmed"
    http_status = 409
