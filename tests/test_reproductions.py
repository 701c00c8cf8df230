"""Public estimates the planner must reproduce. Each test states the source and tolerance.

The presets in data/presets.toml carry the assumptions (with reasons); the published figures
are written here again on purpose, so a preset edit cannot quietly move the target.
"""

from __future__ import annotations

import pytest

from planner.presets import get_preset
from planner.sizing import size_training


def size_preset(name: str):
    p = get_preset(name)
    return size_training(
        p.run(), p.accelerator, gpus=p.gpus, days=p.days, assumptions=p.sizing_assumptions()
    )


def test_gtc2024_hopper_run_needs_about_8000_h100s_and_15_mw():
    # NVIDIA GTC 2024 keynote: 1.8T GPT-MoE, 90 days, 8,000 Hopper GPUs, 15 MW (within 10%).
    # NVIDIA states no goodput: the failure model's goodput(N) ~0.95 at ~7,500 H100.
    r = size_preset("gtc2024-hopper")
    assert r.goodput_model is not None and r.goodput == pytest.approx(0.95, abs=0.005)
    assert r.gpus == pytest.approx(8000, rel=0.10)
    assert r.facility_power_mw == pytest.approx(15.0, rel=0.10)
    assert r.days <= 90


def test_gtc2024_blackwell_run_needs_about_2000_gb200s_and_4_mw():
    # NVIDIA GTC 2024 keynote: same run, 90 days, 2,000 Blackwell GPUs, 4 MW (within 10%).
    r = size_preset("gtc2024-blackwell")
    assert r.gpus == pytest.approx(2000, rel=0.10)
    assert r.facility_power_mw == pytest.approx(4.0, rel=0.10)
    assert r.systems == r.gpus / 72  # whole NVL72 racks
    assert r.days <= 90


def test_gtc2024_blackwell_cuts_power_by_about_3_7x():
    hopper, blackwell = size_preset("gtc2024-hopper"), size_preset("gtc2024-blackwell")
    assert hopper.facility_power_mw / blackwell.facility_power_mw == pytest.approx(15 / 4, rel=0.15)


def test_gpt3_training_used_about_1287_mwh():
    # Patterson et al. 2021 (arXiv 2104.10350), Table 4: 3.14e23 FLOPs, 10,000 V100, 14.8 days,
    # 330 W measured per accelerator, PUE 1.10 -> 1,287 MWh (within 5%).
    r = size_preset("gpt3-patterson")
    assert r.days == pytest.approx(14.8, rel=0.05)
    assert r.energy_mwh == pytest.approx(1287, rel=0.05)


def test_llama1_65b_used_about_449_mwh():
    # Touvron et al. 2023 (arXiv 2302.13971), Table 15: 1,022,362 GPU-hours x 400 W x PUE 1.1
    # -> 449 MWh (within 2%).
    r = size_preset("llama1-65b")
    assert r.gpu_hours == pytest.approx(1_022_362, rel=0.02)
    assert r.energy_mwh == pytest.approx(449, rel=0.02)


def test_llama1_7b_used_about_36_mwh():
    # Touvron et al. 2023, Table 15: 82,432 GPU-hours -> 36 MWh (within 2%).
    r = size_preset("llama1-7b")
    assert r.gpu_hours == pytest.approx(82_432, rel=0.02)
    assert r.energy_mwh == pytest.approx(36, rel=0.02)


def test_bloom_176b_used_about_433_mwh():
    # Luccioni et al. 2022 (arXiv 2211.02001): 1,082,990 A100 GPU-hours x 400 W = 433 MWh (within 2%).
    r = size_preset("bloom-176b")
    assert r.gpu_hours == pytest.approx(1_082_990, rel=0.02)
    assert r.energy_mwh == pytest.approx(433, rel=0.02)


def test_llama31_405b_needed_about_30_84m_gpu_hours():
    # Meta Llama 3.1 model card: 30.84M H100 GPU-hours; arXiv 2407.21783: 3.8e25 FLOPs,
    # 16,384 H100, 38-43% MFU, >90% effective training time (within 15%).
    r = size_preset("llama3.1-405b")
    assert r.gpu_hours == pytest.approx(30.84e6, rel=0.15)


def test_gpt4_cost_about_60_million_dollars():
    # SemiAnalysis (July 2023): 2.15e25 FLOPs on A100s at 32-36% MFU and ~$1/A100-hour
    # -> about $60M (within 15%), 90-100 days on ~25,000 A100s.
    r = size_preset("gpt4-estimate")
    assert r.cost_usd == pytest.approx(60e6, rel=0.15)
    assert r.pricing == "rent"
    assert 85 <= r.days <= 100


def test_gpt4_cottier_amortised_cost_about_40_million_and_cloud_about_79_million():
    # Cottier et al. 2024, "The rising costs of training frontier AI models" (arXiv 2405.21015;
    # code github.com/epoch-research/training-cost-trends): GPT-4 costs USD 40.7M in amortised
    # hardware capex + energy and USD 78.6M at cloud prices, from 2.1e25 FLOPs on 25,000 A100s
    # for about 95 days. Issue 10 asks for 30%; the planner lands within 2% (40.16M, 77.52M),
    # asserted tighter so a drift in the economics fails here before it reaches 30%.
    r = size_preset("gpt4-cottier")
    assert r.pricing == "amortized"
    assert r.cost_usd == r.amortized_cost_usd
    assert r.amortized_cost_usd == pytest.approx(40.7e6, rel=0.30)
    assert r.rental_cost_usd == pytest.approx(78.6e6, rel=0.30)
    assert r.amortized_cost_usd == pytest.approx(40.7e6, rel=0.02)
    assert r.rental_cost_usd == pytest.approx(78.6e6, rel=0.02)
    assert r.days == pytest.approx(95, rel=0.01)
    assert r.mfu == 0.328  # the preset's stated utilisation, not the run model
    # the cluster's purchase is reported beside the run's cost, never in it
    assert r.cluster_capex_usd > 5 * r.cost_usd


def test_hopper_preset_spelled_out_by_hand(gtc_run):
    # The same answer computed by hand from the catalog (989/1979 dense, 10.2 kW per 8):
    # FLOPs 6 x 2.8e11 x 1.3e13 = 2.184e25; per GPU 1979e12 x 0.2 x 0.9 FLOP/s;
    # GPUs = 2.184e25 / (90 x 86400 x 3.5622e14) = 7,884.4 -> 986 servers -> 7,888 GPUs;
    # peak facility at the design-day PUE = 7,888 x 1,275 W x 1.1 x 1.30 = 14.382 MW;
    # average at the annual PUE = 7,888 x 1,275 W x 0.76 x 1.1 x 1.20 = 10.089 MW.
    r = size_training(
        gtc_run, "h100", days=90, precision="fp8", mfu=0.2, goodput=0.9, pue=1.2, design_pue=1.3
    )
    assert r.flops == pytest.approx(2.184e25)
    assert r.gpus == 7888 and r.systems == 986
    assert r.facility_power_mw == pytest.approx(7888 * 1275 * 1.1 * 1.30 / 1e6)
    assert r.average_facility_power_mw == pytest.approx(7888 * 1275 * 0.76 * 1.1 * 1.20 / 1e6)


def test_gtc2024_presets_state_both_pues_from_their_facility_profiles():
    # The 15 MW / 4 MW are grid (peak) figures: each preset states the annual and the
    # design-day PUE of one data/facility.csv profile, never a PUE tuned to the target.
    from planner.assumptions import facility_profiles

    profiles = facility_profiles()
    for name, profile in (
        ("gtc2024-hopper", "hyperscale-air"),
        ("gtc2024-blackwell", "hyperscale-liquid"),
    ):
        a = get_preset(name).sizing_assumptions()
        assert a.pue == profiles.loc[profile, "pue"]
        assert a.design_pue == profiles.loc[profile, "design_pue"]
        assert profile in a.sources["pue"]


def test_gtc2024_peaks_use_the_design_day_pue_and_energy_the_annual_pue():
    # goodput(N) from the failure model (NVIDIA states none), hot spares installed:
    # (7,480 + 80) H100 x 1,402.5 W IT = 10.603 MW; x 1.30 = 13.78 MW (15 MW: -8.1%);
    # (1,872 + 72) GB200 x 1,833.3 W IT = 3.564 MW; x 1.15 = 4.10 MW (4 MW: +2.5%).
    hopper, blackwell = size_preset("gtc2024-hopper"), size_preset("gtc2024-blackwell")
    assert hopper.facility_power_mw == pytest.approx(hopper.it_power_mw * 1.30)
    assert blackwell.facility_power_mw == pytest.approx(blackwell.it_power_mw * 1.15)
    assert hopper.facility_power_mw == pytest.approx(13.78, abs=0.01)
    assert blackwell.facility_power_mw == pytest.approx(4.10, abs=0.01)
    assert hopper.average_facility_power_mw == pytest.approx(hopper.average_it_power_mw * 1.20)
    assert blackwell.average_facility_power_mw == pytest.approx(
        blackwell.average_it_power_mw * 1.10
    )


@pytest.mark.parametrize(
    "name, published_mwh",
    [("gpt3-patterson", 1287), ("llama1-65b", 449), ("llama1-7b", 36), ("bloom-176b", 433)],
)
def test_energy_reproductions_do_not_depend_on_the_design_day_pue(name, published_mwh):
    # The papers' energy is average power x hours at their (annual) PUE: a design-day PUE
    # from the annual PUE up to 3 moves the peak only.
    p = get_preset(name)
    base = p.sizing_assumptions()
    ref = size_preset(name)
    hot = size_training(
        p.run(),
        p.accelerator,
        gpus=p.gpus,
        days=p.days,
        assumptions=base.with_("test", design_pue=3.0),
    )
    assert hot.energy_mwh == ref.energy_mwh
    assert hot.emissions_tco2 == ref.emissions_tco2
    assert hot.electricity_cost_usd == ref.electricity_cost_usd
    assert hot.facility_power_mw > ref.facility_power_mw
    assert ref.energy_mwh == pytest.approx(published_mwh, rel=0.05)


@pytest.mark.parametrize(
    "name",
    ["gtc2024-hopper", "gtc2024-blackwell", "gpt4-estimate", "gpt4-cottier", "llama3.1-405b"],
)
def test_presets_keep_their_stated_mfu_not_the_run_model(name):
    # Issue 10: the run model is the default only when no MFU is given; a preset's MFU is its
    # source's stated assumption and must survive.
    p = get_preset(name)
    r = size_preset(name)
    assert r.mfu == p.sizing_assumptions().mfu
    assert "run model" not in r.assumptions["mfu"]["source"]
