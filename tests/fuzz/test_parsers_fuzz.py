"""Every parser of untrusted bytes, fuzzed with structure-aware Hypothesis strategies: each
generated input is refused with a 4xx code and a sentence, or accepted and loaded, never
anything else. CI runs a bounded number of cases (seeded, so a run is reproducible);
``benchmarks/fuzz.py`` runs 10,000 per parser on demand."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.fuzz.targets import PARSERS

#: Cases per parser in CI, about 25 s in all on the shared 2-core machine.
CI_CASES = {"glb": 150, "gltf-json": 100, "zip": 100, "image": 300, "svg": 120}


@pytest.mark.parametrize("name", sorted(n for n, p in PARSERS.items() if p.in_ci))
def test_parser_refuses_or_accepts_every_input(name: str) -> None:
    parser = PARSERS[name]
    outcomes: set[str] = set()

    @settings(
        max_examples=CI_CASES.get(name, 100),
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(parser.inputs)
    def case(data: bytes) -> None:
        outcomes.add(parser.run(data))

    case()
    # the strategies must reach both sides, or they test nothing
    assert "accepted" in outcomes, outcomes
    assert len(outcomes - {"accepted"}) >= 2, outcomes
