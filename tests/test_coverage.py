"""Out-of-sample interval coverage (``planner.coverage``): the band a case is judged by never
contains its own error, the share covered tracks the level on exchangeable errors, and a level
outside (0, 1) is one input error naming the field and the value as given."""

from __future__ import annotations

import numpy as np
import pytest

from planner.coverage import (
    INTERVAL_LEVEL,
    TARGET_COVERAGE,
    interval_coverage,
    interval_quantiles,
)
from planner.errors import InputError


def test_p10_p90_is_the_default_interval() -> None:
    assert INTERVAL_LEVEL == 0.8
    assert interval_quantiles() == pytest.approx((0.1, 0.9))
    assert interval_quantiles(0.5) == pytest.approx((0.25, 0.75))
    assert TARGET_COVERAGE == (0.75, 0.85)


def test_coverage_of_exchangeable_errors_is_close_to_the_level() -> None:
    rng = np.random.default_rng(7)
    shares = [interval_coverage(rng.normal(0, 0.2, 400)).share for _ in range(5)]
    assert np.mean(shares) == pytest.approx(0.8, abs=0.02)


def test_a_case_is_judged_by_the_other_cases_band_only() -> None:
    # one outlier among ten alike errors: with its own error in the band it would sit on the
    # band's edge; built from the other nine it is far outside
    errors = np.array([0.0, 0.01, -0.01, 0.02, -0.02, 0.03, -0.03, 0.01, -0.01, 5.0])
    c = interval_coverage(errors)
    assert not c.inside[-1]
    assert c.upper[-1] == pytest.approx(np.quantile(errors[:-1], 0.9))
    assert c.covered == int(c.inside.sum()) and c.n == 10


def test_a_too_wide_band_fails_the_target_too() -> None:
    # errors whose leave-one-out band always covers: every case inside, share 1.0 > 0.85
    errors = np.zeros(20)
    c = interval_coverage(errors)
    assert c.share == 1.0 and c.within_target is False


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, float("nan"), float("inf")])
def test_a_level_outside_0_1_names_the_field_and_the_value_as_given(level) -> None:
    with pytest.raises(InputError) as info:
        interval_quantiles(level)
    assert info.value.field == "interval_level"
    assert "(0, 1)" in str(info.value)
    assert info.value.value is level  # as given, not clipped into the range


def test_a_level_that_is_not_a_number_is_one_input_error() -> None:
    with pytest.raises(InputError, match="interval_level"):
        interval_coverage([0.1, 0.2, 0.3], "eighty")


def test_another_level_is_judged_against_its_own_target() -> None:
    from planner.coverage import target_coverage

    assert target_coverage(0.8) == (0.75, 0.85)
    assert target_coverage(0.5) == pytest.approx((0.45, 0.55))
    rng = np.random.default_rng(3)
    c = interval_coverage(rng.normal(0, 1, 2000), 0.5)
    assert c.to_dict()["target_coverage_low"] == pytest.approx(0.45)
    assert c.within_target is True
