"""The PDF path under structure-aware fuzzing (bounded, seeded): every input is accepted or
refused with a 4xx code and a sentence, never anything else."""

from __future__ import annotations

from hypothesis import HealthCheck, Phase, given, settings

from tests.schedule.fuzz_pdf import pdf_files, run_pdf


def test_pdf_reader_refuses_or_accepts_every_input() -> None:
    outcomes: set[str] = set()

    @settings(
        max_examples=80, derandomize=True, database=None, deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )  # fmt: skip
    @given(pdf_files())
    def case(data: bytes) -> None:
        outcomes.add(run_pdf(data))

    case()
    assert "accepted" in outcomes, outcomes
    assert len(outcomes - {"accepted"}) >= 2, outcomes
