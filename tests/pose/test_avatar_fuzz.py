"""Damaged avatars are posed or refused with a code, never crash (a bounded CI run; the
shared fuzzer can run many more cases through ``fuzz_avatar``)."""

from __future__ import annotations

import warnings

from hypothesis import HealthCheck, given, settings

from tests.pose.fuzz_avatar import avatar_files, run_avatar


@settings(
    max_examples=120,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(avatar_files())
def test_damaged_avatars_are_refused_with_a_code(data: bytes) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_avatar(data)
