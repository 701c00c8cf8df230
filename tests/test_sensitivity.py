"""Sensitivity (+-20% one at a time): exactly the core's numbers, clipped where physics says."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import InputError
from planner.request import build_request
from planner.sensitivity import sensitivity
from planner.sizing import size_training


def _sens(preset: str, **kw):
    r = build_request(preset=preset)
    return r, sensitivity(
        r.run, r.accelerator, gpus=r.gpus, days=r.days, assumptions=r.assumptions, **kw
    )


def _case(s, factor, case, output):
    t = s.table
    row = t[(t.factor == factor) & (t.case == case) & (t.output == output)]
    assert len(row) == 1
    return row.iloc[0]


def test_base_case_is_exactly_the_core_sizing_of_the_gtc_hopper_preset():
    r, s = _sens("gtc2024-hopper")
    res = r.size()
    for output in s.outputs:
        assert s.base[output] == pytest.approx(getattr(res, output), rel=1e-12)
    assert s.outputs[0] == "gpus"  # a deadline run: the headline is the GPU count
    assert s.base["gpus"] == 7480  # goodput(N) of the failure model: 0.949 at 7,480 H100


def test_goodput_from_the_failure_model_follows_the_gpus_of_an_mfu_case():
    # goodput(N) is not an input: a case moving the MFU is the core sizing of that MFU
    r, s = _sens("gtc2024-hopper")
    a = r.assumptions.with_("test", mfu=r.size().mfu * 1.2)
    scalar = size_training(r.run, r.accelerator, days=r.days, assumptions=a)
    for output in s.outputs:
        got = _case(s, "mfu", "high", output).value
        assert got == pytest.approx(getattr(scalar, output), rel=1e-12)


def test_mfu_20_percent_lower_needs_over_25_percent_more_gpus_as_goodput_falls_with_scale():
    # GPUs x goodput(GPUs) = FLOPs / (days x peak x MFU): 1/0.8 = 1.25x the effective GPUs,
    # and goodput(N) falls as N grows, so a little more than 1.25x the GPUs (whole systems)
    _, s = _sens("gtc2024-hopper")
    low = _case(s, "mfu", "low", "gpus").relative_change
    high = _case(s, "mfu", "high", "gpus").relative_change
    assert 0.25 < low < 0.25 + 0.02
    assert -1 / 6 - 0.02 < high < -1 / 6


def test_goodput_up_20_percent_is_clipped_at_one_and_says_so():
    r, s = _sens("gtc2024-hopper")  # goodput(7,480) = 0.949 x 1.2 = 1.14 > 1
    base_goodput = r.size().goodput
    assert base_goodput * 1.2 > 1.0
    row = _case(s, "goodput", "high", "gpus")
    assert bool(row.clipped)
    assert row.applied_change == pytest.approx(1.0 / base_goodput - 1.0)
    assert any("goodput" in n and "clipped" in n for n in s.notes)
    assert not bool(_case(s, "goodput", "low", "gpus").clipped)


def test_pue_down_20_percent_is_clipped_at_one():
    r = build_request(accelerator="h100", flops=1e25, days=60)  # default PUE 1.20 -> 0.96
    s = sensitivity(r.run, r.accelerator, days=r.days, assumptions=r.assumptions)
    row = _case(s, "pue", "low", "facility_power_mw")
    assert bool(row.clipped)
    assert row.relative_change == pytest.approx(1.0 / 1.2 - 1.0, rel=1e-9)


def test_pue_moves_peak_power_and_energy_in_proportion_and_not_the_gpus():
    # GTC Hopper: annual PUE 1.20 (-20% = 0.96 is clipped at 1.0: -16.7%), +20% = 1.44; the
    # design-day PUE of the peak (1.30) moves with it in proportion, so peak and energy alike
    _, s = _sens("gtc2024-hopper")
    for case, change in (("low", 1.0 / 1.2 - 1.0), ("high", 0.2)):
        assert _case(s, "pue", case, "facility_power_mw").relative_change == pytest.approx(change)
        assert _case(s, "pue", case, "energy_mwh").relative_change == pytest.approx(change)
        assert _case(s, "pue", case, "emissions_tco2").relative_change == pytest.approx(change)
        assert _case(s, "pue", case, "gpus").relative_change == 0.0


def test_a_given_design_pue_keeps_the_base_case_the_core_sizing():
    r = build_request(preset="gtc2024-hopper", design_pue=1.6)
    s = sensitivity(r.run, r.accelerator, days=r.days, assumptions=r.assumptions)
    assert s.base["facility_power_mw"] == pytest.approx(r.size().facility_power_mw, rel=1e-12)
    high = _case(s, "pue", "high", "facility_power_mw")
    assert high.relative_change == pytest.approx(0.2)  # 1.6 x 1.2 = 1.92, still under 3


def test_price_moves_the_rented_cost_by_exactly_20_percent_and_nothing_else():
    # rent: cost = GPU-hours x rent, so a 20% price move is a 20% cost move
    r = build_request(preset="gtc2024-hopper", pricing="rent")
    s = sensitivity(r.run, r.accelerator, days=r.days, assumptions=r.assumptions)
    for case, change in (("low", -0.2), ("high", 0.2)):
        assert _case(s, "price", case, "cost_usd").relative_change == pytest.approx(change)
        for output in ("gpus", "facility_power_mw", "energy_mwh", "emissions_tco2"):
            assert _case(s, "price", case, output).relative_change == 0.0


def test_price_moves_the_amortised_cost_by_less_than_20_percent():
    # amortized (the default): servers, network and electricity scale with the price level,
    # the facility share (USD 11.7M per MW of IT) does not
    _, s = _sens("gtc2024-hopper")
    assert s.base["cost_usd"] > 0
    high = _case(s, "price", "high", "cost_usd").relative_change
    assert 0.1 < high < 0.2


def test_a_default_run_moves_the_run_models_mfu_and_says_so():
    r = build_request(accelerator="h100", params=70e9, tokens=15e12, days=60)
    s = sensitivity(r.run, r.accelerator, days=r.days, assumptions=r.assumptions)
    assert s.base["gpus"] == r.size().gpus
    assert any("from the run model" in n for n in s.notes)
    # GPUs = FLOPs / (days x peak x MFU x goodput): MFU 0.8x -> about 1.25x the GPUs
    assert _case(s, "mfu", "low", "gpus").relative_change == pytest.approx(0.25, abs=0.01)


def test_a_run_with_given_gpus_reports_days_as_its_headline():
    r, s = _sens("llama3.1-405b")  # 16,384 GPUs given
    assert s.outputs[0] == "days"
    assert s.base["days"] == pytest.approx(r.size().days, rel=1e-12)
    # days = FLOPs / (GPUs x peak x MFU x goodput): MFU 0.8x -> days 1.25x exactly
    assert _case(s, "mfu", "low", "days").relative_change == pytest.approx(0.25)


def test_a_chip_the_catalog_never_priced_uses_its_sourced_estimate():
    # H800 has no catalog price; data/chip_economics.csv gives every shipped chip one
    r = build_request(accelerator="h800", flops=1e25, days=60)
    s = sensitivity(r.run, r.accelerator, days=r.days, assumptions=r.assumptions)
    assert s.base["cost_usd"] == pytest.approx(r.size().cost_usd, rel=1e-12)
    assert not any("no price" in n for n in s.notes)
    assert s.to_dict()["base"]["cost_usd"] > 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"swing": 0.0}, "swing"), ({"swing": 1.5}, "swing"), ({"factors": ("mfu", "x")}, "factors")],
)
def test_bad_swing_or_factor_is_an_input_error_naming_the_field(kwargs, field):
    r = build_request(preset="gtc2024-hopper")
    with pytest.raises(InputError) as err:
        sensitivity(r.run, r.accelerator, days=r.days, assumptions=r.assumptions, **kwargs)
    assert err.value.field == field


@settings(max_examples=25, deadline=None)
@given(
    mfu=st.floats(0.05, 0.95),
    goodput=st.floats(0.5, 1.0),
    pue=st.floats(1.0, 2.5),
    swing=st.floats(0.05, 0.5),
)
def test_every_case_respects_the_limits_and_moves_the_outputs_the_physical_way(
    mfu, goodput, pue, swing
):
    r = build_request(accelerator="gb200", flops=5e24, gpus=4096, mfu=mfu, goodput=goodput, pue=pue)
    s = sensitivity(r.run, r.accelerator, gpus=r.gpus, assumptions=r.assumptions, swing=swing)
    t = s.table
    # applied values stay within (0, 1] for fractions and [1, 3] for PUE
    for factor, base in (("mfu", mfu), ("goodput", goodput), ("pue", pue)):
        applied = base * (1 + t[t.factor == factor].applied_change)
        lo, hi = (1.0, 3.0) if factor == "pue" else (0.0, 1.0)
        assert (applied > lo - 1e-12).all() and (applied <= hi + 1e-12).all()
    # more MFU or goodput never lengthens the run; more PUE never lowers the peak power
    assert _case(s, "mfu", "high", "days").value <= s.base["days"] * (1 + 1e-12)
    assert _case(s, "goodput", "low", "days").value >= s.base["days"] * (1 - 1e-12)
    assert _case(s, "pue", "high", "facility_power_mw").value >= s.base["facility_power_mw"]


def test_vectorised_cases_match_scalar_sizings():
    r = build_request(preset="gtc2024-blackwell")
    s = sensitivity(r.run, r.accelerator, days=r.days, assumptions=r.assumptions)
    a = r.assumptions.with_("test", mfu=r.assumptions.mfu * 0.8)
    scalar = size_training(r.run, r.accelerator, days=r.days, assumptions=a)
    row = _case(s, "mfu", "low", "gpus")
    assert row.value == scalar.gpus
    assert _case(s, "mfu", "low", "energy_mwh").value == pytest.approx(scalar.energy_mwh, rel=1e-12)
