"""``ctx.spend``: a paid call is held under every budget key of the job (owner, org,
provider) in both periods, settled exactly once; a block that fails or forgets to settle
is settled at its estimate. Against the ledger's meter on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from renderhouse import accounts, ledger
from renderhouse.errors import InvalidInput
from renderhouse.generators import spending
from renderhouse.generators.local_context import LocalContext
from renderhouse.ledger.budgets import budget_status
from renderhouse.ledger.metering import BudgetMeter
from renderhouse.store.database import Store
from renderhouse.store.schema_ledger import budget_holds


def spent(store: Store, key: str, period: str = "day") -> tuple[int, int]:
    with store.read() as conn:
        s = budget_status(conn, key, period)
    return s["spent"], s["held"]


@pytest.fixture
def owner(store: Store) -> str:
    with store.begin() as conn:
        return accounts.create_user(conn, "carol", org="acme").id


def test_a_call_is_held_under_every_key_and_settled_once(store: Store, owner: str) -> None:
    meter = BudgetMeter(store, owner)
    keys = [owner, "org:acme", "provider:openai"]
    with spending.spend(meter, 50, provider="openai") as call:
        assert [spent(store, k, p) for k in keys for p in ("day", "month")] == [(0, 50)] * 6
        call.settle(20)
        with pytest.raises(RuntimeError, match="settled already"):
            call.settle(30)
    assert call.actual == 20
    assert [spent(store, k, p) for k in keys for p in ("day", "month")] == [(20, 0)] * 6
    with store.read() as conn:
        states = conn.execute(select(budget_holds.c.state, budget_holds.c.actual)).all()
    assert sorted(states) == [("settled", 20)] * 6


def test_a_failed_or_unsettled_call_counts_its_estimate(store: Store, owner: str) -> None:
    meter = BudgetMeter(store, owner)
    with pytest.raises(TimeoutError), spending.spend(meter, 30):
        raise TimeoutError("the provider did not answer; it may have charged")
    assert spent(store, owner) == (30, 0)
    with spending.spend(meter, 25):
        pass  # the generator forgot to settle
    assert spent(store, owner) == (55, 0)
    assert spent(store, "provider:openai") == (0, 0)  # no provider named, none drawn on


def test_an_exhausted_budget_holds_nothing_anywhere(store: Store, owner: str) -> None:
    with store.begin() as conn:
        ledger.set_budget(conn, "org:acme", "month", 100)
    meter = BudgetMeter(store, owner)
    with spending.spend(meter, 100, provider="openai") as call:
        call.settle(100)
    with pytest.raises(ledger.BudgetExhausted) as info, spending.spend(meter, 1, provider="openai"):
        pytest.fail("the block must not run")
    assert info.value.code == "budget_exhausted" and info.value.http_status == 402
    assert info.value.details["key"] == "org:acme"
    assert spent(store, owner) == (100, 0)  # the owner's hold rolled back with the org's
    with store.read() as conn:
        assert len(conn.execute(select(budget_holds.c.id)).all()) == 6


def test_bad_estimates_and_providers_are_refused(store: Store, owner: str) -> None:
    meter = BudgetMeter(store, owner)
    with pytest.raises(InvalidInput, match="estimate"), spending.spend(meter, -1):
        pass
    with pytest.raises(InvalidInput, match="provider name"), spending.spend(meter, 1, "Open AI"):
        pass
    with spending.spend(meter, 5) as call, pytest.raises(InvalidInput, match="zero or more"):
        call.settle(-2)
    assert spent(store, owner) == (5, 0)


def test_a_local_context_is_unmetered(tmp_path: Path) -> None:
    ctx = LocalContext(tmp_path)
    with ctx.spend(10**12, provider="openai") as call:
        call.settle(7)
    with pytest.raises(ValueError), ctx.spend(3):
        raise ValueError("boom")
    assert isinstance(ctx.meter, spending.Unmetered) and ctx.meter.spent == 10
