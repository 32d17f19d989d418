"""A chat request whose process died between hold and settlement is settled by the
maintenance duty at its hold, once; a request still in flight is left alone."""

from __future__ import annotations

import time

from sqlalchemy import select

from renderhouse import ledger
from renderhouse.models import charges
from renderhouse.models.charges import Charge
from renderhouse.models.hold_expiry import ABANDONED, expire_abandoned
from renderhouse.models.usage import model_usage
from renderhouse.runtime import Runtime
from tests.models.api_fixtures import Keys


def _hold(runtime: Runtime, owner: str, amount: int) -> Charge:
    charge = Charge(charges.new_request_id(), owner, "gpt-fake", amount)
    with runtime.store.begin() as conn:
        charges.reserve(conn, charge, {"openai"})
    return charge


def test_abandoned_holds_settle_at_their_amount_once(runtime: Runtime, keys: Keys) -> None:
    dead = _hold(runtime, keys.alice_id, 40)
    with runtime.store.read() as conn:
        assert ledger.balance(conn, keys.alice_id).held == 40
    later = time.time() + 10
    assert expire_abandoned(runtime.store, 5, now=later) == 1
    live = _hold(runtime, keys.alice_id, 7)  # fresh: in flight, not touched
    assert expire_abandoned(runtime.store, 60, now=later) == 0  # dead: settled already
    with runtime.store.read() as conn:
        balance = ledger.balance(conn, keys.alice_id)
        row = conn.execute(
            select(model_usage).where(model_usage.c.request_id == dead.request_id)
        ).one()
        report = ledger.reconcile(conn)
    with runtime.store.begin() as conn:  # a late settlement by the dead process: no effect
        assert charges.settle(conn, dead, 3, provider_account=None, row=ABANDONED) == 0
    assert balance.held == 7 and balance.available == 1_000_000 - 40 - 7
    assert row.cost == 40 and row.error_code == "abandoned" and not row.ok
    assert report.problems == [f"job {live.request_id}: reservation of 7 outlived its job"]
