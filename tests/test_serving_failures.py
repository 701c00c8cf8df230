"""Replica failures in the production fleet: replicas down at once and the spares covering them."""

from __future__ import annotations

import json
import math

import pytest

from planner.errors import InputError
from planner.serving.production import (
    ProductionAssumptions,
    ReplicaFailureModel,
    poisson_tail,
    replicas_down_expected,
    spares_needed,
)
from planner.serving_presets import build_service_request

NEW_KEYS = ("replicas_down_expected", "spares_needed", "failure_service_level")


def test_expected_down_grows_linearly_with_replicas_and_gpus_per_replica():
    rate = ReplicaFailureModel.for_chip("h100").down_hours_per_gpu_hour
    base = float(replicas_down_expected(100, 8, rate))
    assert float(replicas_down_expected(200, 8, rate)) == pytest.approx(2 * base)
    assert float(replicas_down_expected(100, 16, rate)) == pytest.approx(2 * base)
    assert float(replicas_down_expected(300, 4, rate)) == pytest.approx(1.5 * base)


def test_hopper_replica_failures_come_from_the_llama3_calibration_and_repair_times():
    fm = ReplicaFailureModel.for_chip("h100")
    assert fm.failures_per_gpu_hour == pytest.approx(1.973e-5, rel=1e-3)
    # hardware: node replacement 2 h + restart 10 min; other: restart 10 min
    assert fm.hardware_hours_out == pytest.approx(2.0 + 10 / 60)
    assert fm.other_hours_out == pytest.approx(10 / 60)


def test_poisson_tail_matches_the_closed_form():
    assert poisson_tail(2, 1.0) == pytest.approx(1 - math.exp(-1) * 2.5, rel=1e-12)
    assert poisson_tail(0, 0.3) == pytest.approx(1 - math.exp(-0.3), rel=1e-12)
    assert poisson_tail(3, 0.0) == 0.0
    assert 0.0 < poisson_tail(2000, 1000.0) < 1e-100  # far tail of a large mean, no overflow


def test_one_percent_service_level_gives_the_hand_computed_poisson_quantile():
    # 10 replicas carry the peak, 8 GPUs each, 0.005 replica-hours out per GPU-hour:
    # lambda(k) = (10 + k) x 0.04 (the spares fail too). By hand:
    # k=2: lambda 0.48, P(X > 2) = 1 - e^-0.48 (1 + 0.48 + 0.1152) = 0.0129 > 1%
    # k=3: lambda 0.52, P(X > 3) = 1 - e^-0.52 (1 + 0.52 + 0.1352 + 0.023435) = 0.0020
    k, lam = spares_needed(10, 8, 0.005, 0.01)
    assert (k, lam) == (3, pytest.approx(0.52))
    assert spares_needed(10, 8, 0.005, 0.02) == (2, pytest.approx(0.48))


def test_no_failures_need_no_spares():
    assert spares_needed(1000, 8, 0.0, 0.01) == (0, 0.0)


def test_zero_spares_on_a_large_fleet_are_raised_and_the_estimate_says_so():
    prod = build_service_request("llama70b-h100-example", redundancy_replicas=0).serve()
    p = prod.production
    assert p["production"]["replicas_down_expected"] > 0.1  # ~0.13 per region
    assert p["production"]["spares_needed"] >= 1
    assert p["production"]["redundancy_replicas"] == p["production"]["spares_needed"]
    assert p["failures"]["spares_raised"] is True
    row = p["factors"][-1]
    assert row["part"] == "failures"
    assert row["factor"] > 1.0
    assert "raised to" in row["note"]
    assert p["production"]["capacity_shortfall_probability"] <= 0.01


def test_enough_given_spares_are_kept_and_the_failures_factor_is_one():
    p = build_service_request("llama70b-h100-example", redundancy_replicas=4).serve().production
    assert p["production"]["redundancy_replicas"] == 4
    assert p["production"]["spares_needed"] < 4
    assert p["factors"][-1] == {**p["factors"][-1], "part": "failures", "factor": 1.0}
    assert p["failures"]["spares_raised"] is False


def test_a_tighter_service_level_needs_at_least_as_many_spares():
    loose = build_service_request("chatgpt-2023", failure_service_level=0.1).serve()
    tight = build_service_request("chatgpt-2023", failure_service_level=1e-6).serve()
    n_loose = loose.production["production"]["spares_needed"]
    n_tight = tight.production["production"]["spares_needed"]
    assert n_tight > n_loose
    assert tight.production["production"]["systems"] >= loose.production["production"]["systems"]


def test_replicas_down_draw_idle_power_not_their_load():
    # a failure rate so high that many replicas are down: the meter sees less than the
    # same fleet with every replica serving (the load moves, the down ones idle)
    from dataclasses import replace

    import planner.serving.production as production

    real = production.ReplicaFailureModel.for_chip
    try:
        production.ReplicaFailureModel.for_chip = classmethod(  # type: ignore[method-assign]
            lambda cls, chip_id: replace(real(chip_id), hardware_per_gpu_hour=2e-3)
        )
        p = build_service_request("chatgpt-2023", redundancy_replicas=40).serve().production
    finally:
        production.ReplicaFailureModel.for_chip = real  # type: ignore[method-assign]
    base = build_service_request("chatgpt-2023", redundancy_replicas=40).serve().production
    assert p["production"]["systems"] == base["production"]["systems"]
    assert p["production"]["replicas_down_expected"] > 5
    assert (
        p["production"]["average_facility_power_mw"]
        < base["production"]["average_facility_power_mw"]
    )


def test_serve_json_carries_the_failure_keys(capsys):
    from planner.cli import main

    assert main(["serve", "--preset", "llama70b-h100-example", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    prod = d["production"]["production"]
    for key in NEW_KEYS:
        assert key in prod
    assert prod["failure_service_level"] == 0.01
    assert d["production"]["assumptions"]["failure_service_level"]["value"] == 0.01
    assert "failures" in [f["part"] for f in d["production"]["factors"]]


@pytest.mark.parametrize("value", ["0", "1", "1.5", "-0.01"])
def test_service_level_outside_zero_one_is_one_line_naming_the_field_exit_2(capsys, value):
    from planner.cli import main

    code = main(
        ["serve", "--preset", "llama70b-h100-example", "--json"]
        + ["--failure-service-level", value]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    err = captured.err.strip()
    assert len(err.splitlines()) == 1
    assert "failure_service_level" in err and value in err and "(0, 1)" in err


def test_service_level_in_the_core_is_checked_as_given():
    with pytest.raises(InputError, match=r"failure_service_level = 1\.5 .*\(0, 1\)"):
        ProductionAssumptions.defaults(failure_service_level=1.5)


def test_every_failure_key_has_a_vocabulary_row():
    from planner import quantities

    p = build_service_request("llama70b-h100-example").serve().production
    keys = set(p["production"]) | (set(p["failures"]) - {"generation", "source"})
    missing = sorted(k for k in keys if k not in quantities.all_quantities())
    assert missing == []
