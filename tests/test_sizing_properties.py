"""Hypothesis properties of the sizing physics: monotonicity, scaling and units."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from planner.catalog import load_catalog
from planner.errors import ResultOutOfRange
from planner.sizing import size_training
from planner.workloads import TrainingRun

CHIPS = load_catalog().ids
flops_st = st.floats(min_value=1e20, max_value=1e27)
gpus_st = st.integers(min_value=8, max_value=200_000)
frac_st = st.floats(min_value=0.05, max_value=1.0)
chip_st = st.sampled_from(CHIPS)


@settings(max_examples=60, deadline=None)
@given(flops=flops_st, gpus=gpus_st, chip=chip_st)
def test_doubling_mfu_from_30_to_60_percent_halves_the_days(flops, gpus, chip):
    slow = size_training(TrainingRun(flops=flops), chip, gpus=gpus, mfu=0.30)
    fast = size_training(TrainingRun(flops=flops), chip, gpus=gpus, mfu=0.60)
    assert fast.days == pytest.approx(slow.days / 2, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    flops=flops_st, gpus=gpus_st, extra=st.integers(min_value=0, max_value=100_000), chip=chip_st
)
def test_more_gpus_never_means_more_days(flops, gpus, extra, chip):
    # at a stated goodput; with the failure model a synchronous run past the peak of
    # N x goodput(N) does slow down with more GPUs (tests/test_sizing_goodput.py)
    few = size_training(TrainingRun(flops=flops), chip, gpus=gpus, goodput=0.9)
    many = size_training(TrainingRun(flops=flops), chip, gpus=gpus + extra, goodput=0.9)
    assert many.days <= few.days


@settings(max_examples=60, deadline=None)
@given(flops=flops_st, gpus=gpus_st, k=st.integers(min_value=2, max_value=16), chip=chip_st)
def test_power_scales_linearly_with_gpus_and_energy_is_independent_of_count(flops, gpus, k, chip):
    # at a STATED goodput and MFU; the failure model's goodput(N), its hot spares and the run
    # model's cluster-scale term (MFU falls with the GPU count) break both on purpose
    one = size_training(TrainingRun(flops=flops), chip, gpus=gpus, goodput=0.9, mfu=0.4)
    scaled = size_training(TrainingRun(flops=flops), chip, gpus=gpus * k, goodput=0.9, mfu=0.4)
    assert scaled.facility_power_mw == pytest.approx(k * one.facility_power_mw, rel=1e-9)
    assert scaled.it_power_mw == pytest.approx(k * one.it_power_mw, rel=1e-9)
    # k times the power for 1/k of the time: the same energy for the same work.
    assert scaled.energy_mwh == pytest.approx(one.energy_mwh, rel=1e-9)


@settings(max_examples=60, deadline=None)
@given(
    flops=st.floats(min_value=1e20, max_value=1e25),
    days=st.floats(min_value=1, max_value=3000),
    chip=chip_st,
    mfu=frac_st,
    goodput=frac_st,
)
def test_deadline_sizing_meets_the_deadline_with_whole_systems(flops, days, chip, mfu, goodput):
    try:
        r = size_training(TrainingRun(flops=flops), chip, days=days, mfu=mfu, goodput=goodput)
    except ResultOutOfRange:  # more than MAX_GPUS: refused with the reason, by design
        assume(False)
    assert r.days <= days * (1 + 1e-9)
    assert r.gpus == r.systems * r.gpus_per_system
    assume(r.gpus <= 5_000_000)  # explicit GPU counts are capped at 10 million
    if r.systems > 1:  # one system fewer would miss the deadline
        fewer = size_training(
            TrainingRun(flops=flops),
            chip,
            gpus=r.gpus - r.gpus_per_system,
            mfu=mfu,
            goodput=goodput,
        )
        assert fewer.days > days


@settings(max_examples=60, deadline=None)
@given(gpus=gpus_st, chip=chip_st, pue=st.floats(min_value=1.0, max_value=3.0))
def test_units_facility_mw_is_gpus_times_watts_chain(gpus, chip, pue):
    acc = load_catalog().get(chip)
    r = size_training(
        TrainingRun(flops=1e24), chip, gpus=gpus, pue=pue, network_overhead=0.1, goodput=0.9
    )
    design = 1 + (pue - 1) * 1.5  # data/assumptions.csv design_pue_overhead_ratio
    expected_mw = gpus * acc.system_power_kw * 1000 / acc.gpus_per_system * 1.1 * design / 1e6
    assert r.facility_power_mw == pytest.approx(expected_mw, rel=1e-12)
    assert r.facility_power_mw >= r.it_power_mw >= gpus * acc.tdp_w / 1e6


# --- issue 10: two PUEs, the grid peak at the design day and the energy at the annual PUE ---


@settings(max_examples=40, deadline=None)
@given(
    gpus=gpus_st,
    chip=chip_st,
    pue=st.floats(min_value=1.0, max_value=3.0),
    extra=st.floats(min_value=0.0, max_value=2.0),
    load=st.floats(min_value=0.05, max_value=1.0),
)
def test_peak_is_at_least_the_average_and_energy_ignores_the_design_pue(
    gpus, chip, pue, extra, load
):
    design = min(pue + extra, 3.0)
    run = TrainingRun(flops=1e24)
    derived = size_training(run, chip, gpus=gpus, pue=pue, avg_load_fraction=load)
    given_ = size_training(run, chip, gpus=gpus, pue=pue, design_pue=design, avg_load_fraction=load)
    for r in (derived, given_):
        assert r.design_pue >= r.pue
        assert r.facility_power_mw >= r.average_facility_power_mw
        # peak >= average x (design / annual): the load fraction is at most 1
        ratio = r.design_pue / r.pue
        assert r.facility_power_mw >= r.average_facility_power_mw * ratio * (1 - 1e-12)
    assert given_.energy_mwh == derived.energy_mwh
    assert given_.emissions_tco2 == derived.emissions_tco2
    assert given_.facility_power_mw == pytest.approx(given_.it_power_mw * design, rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    pue=st.floats(min_value=1.0, max_value=3.0),
    below=st.floats(min_value=1e-6, max_value=1.0),
)
def test_a_design_pue_below_the_annual_pue_is_always_refused_in_one_line(pue, below):
    from planner.errors import InputError

    design = pue - below
    assume(design >= 1.0)
    with pytest.raises(InputError) as err:
        size_training(TrainingRun(flops=1e24), "h100", gpus=8, pue=pue, design_pue=design)
    assert "\n" not in str(err.value) and str(err.value).startswith("design_pue = ")


# --- issue 10: the run model and the amortised economics in force ------------------------------

precision_st = st.sampled_from(["bf16", "fp8", "fp4"])


@settings(max_examples=40, deadline=None)
@given(
    active=st.floats(min_value=1e8, max_value=2e12),
    moe=st.booleans(),
    tokens=st.floats(min_value=1e10, max_value=5e13),
    gpus=gpus_st,
    chip=chip_st,
    precision=precision_st,
)
def test_the_run_models_utilisation_is_a_fraction(active, moe, tokens, gpus, chip, precision):
    assume(precision in load_catalog().get(chip).precisions())  # the chip has this tensor mode
    run = TrainingRun(params=active * (8 if moe else 1), active_params=active, tokens=tokens)
    try:
        r = size_training(run, chip, gpus=gpus, precision=precision)
    except ResultOutOfRange:
        assume(False)
    assert "from the run model" in r.assumptions["mfu"]["source"]
    assert 0.0 < r.mfu * r.goodput < 1.0 and 0.0 < r.mfu <= 1.0


@settings(max_examples=40, deadline=None)
@given(flops=flops_st, gpus=gpus_st, chip=chip_st, life=st.floats(min_value=2.0, max_value=8.0))
def test_amortised_hardware_is_below_the_cluster_capex_for_any_run_shorter_than_its_life(
    flops, gpus, chip, life
):
    # Issue 10's property in its own terms: no interest, the hardware always in use
    # (cost_of_capital 0, hardware_utilisation 1) -> a run shorter than the service life pays
    # less than the cluster's purchase. (With interest and idle time the bound is the
    # break-even, tests/test_amortization.py.)
    try:
        r = size_training(
            TrainingRun(flops=flops),
            chip,
            gpus=gpus,
            service_life_years=life,
            cost_of_capital=0.0,
            hardware_utilisation=1.0,
        )
    except ResultOutOfRange:
        assume(False)
    assume(r.days < life * 365.0)
    assert r.amortized_cost_usd - r.electricity_cost_usd < r.cluster_capex_usd
    assert r.cost_usd == r.amortized_cost_usd
