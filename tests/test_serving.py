"""Serving core (planner.serving) and `planner serve`: physics, replica fit, demand, properties,
vectorised path, errors, and the CLI's JSON contract (through a subprocess)."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess

import _forkserver as forkserver
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from planner import quantities
from planner.errors import CatalogError, InputError
from planner.serving import (
    BYTES_PER_PARAM,
    ServingDemand,
    compare_models,
    compare_serving,
    decode_step_bytes,
    decode_step_s,
    estimate_architecture,
    get_model,
    load_models,
    replica_candidates,
    serve,
    serve_frame,
    serving_grid_fit,
)
from planner.serving_presets import build_service_request, load_serving_presets

CHAT = ServingDemand(users=1e8, queries_per_user_day=10, input_tokens=500, output_tokens=400)

SERVE_CONTRACT_KEYS = {
    "accelerator",
    "precision",
    "replicas",
    "gpus_per_replica",
    "gpus",
    "systems",
    "tokens_per_s_per_gpu",
    "batch_size",
    "ttft_s",
    "tpot_s",
    "facility_power_mw",
    "average_facility_power_mw",
    "energy_mwh_per_year",
    "wh_per_query",
    "usd_per_million_tokens",
    "emissions_tco2_per_year",
    "assumptions",
    # the training economics (issue 10): a year of serving
    "pricing",
    "cost_usd",
    "amortized_cost_usd",
    "rental_cost_usd",
    "cluster_capex_usd",
    "embodied_tco2",
    "design_pue",
}


# --- model architectures ----------------------------------------------------------------------


def test_llama31_70b_kv_cache_is_320_kib_per_token_in_bf16():
    # 2 (K and V) x 80 layers x 8 KV heads x 128 x 2 bytes = 327,680 B (Llama 3 config.json)
    assert get_model("llama-3.1-70b").kv_bytes_per_token(2) == 327_680


def test_deepseek_v3_latent_cache_is_576_values_per_layer():
    # MLA caches 512 latent + 64 RoPE values per layer and token (arXiv 2412.19437)
    m = get_model("deepseek-v3")
    assert float(m.kv_values_per_token) == 576 * 61


def test_every_model_row_has_a_source_and_active_at_most_total():
    for m in load_models().values():
        assert len(m.source) > 20
        assert m.active_params <= m.total_params


def test_estimated_architecture_is_within_15_percent_of_llama3_kv_cache():
    for name in ("llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b"):
        real = get_model(name)
        est = estimate_architecture(real.total_params)
        ratio = float(est.kv_bytes_per_token()) / float(real.kv_bytes_per_token())
        assert 0.85 <= ratio <= 1.15, (name, ratio)


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(InputError, match="model = 'gpt-9' is not allowed: expected one of: llama"):
        get_model("gpt-9")


# --- roofline limits ---------------------------------------------------------------------------


def test_decode_is_memory_bound_at_batch_1_and_compute_bound_at_huge_batch():
    m = get_model("llama-3.1-8b")
    kv = m.kv_bytes_per_token(2)
    bw = 3.35e12 * 0.7
    fl = 989e12 * 0.33
    flops = lambda b: b * 2 * m.active_params  # noqa: E731
    t_mem, t_comp = decode_step_s(
        decode_step_bytes(1, 8.03e9, 8.03e9, 2.0, kv, 700), flops(1), 1, bw, fl
    )
    assert t_mem > 10 * t_comp
    t_mem, t_comp = decode_step_s(
        decode_step_bytes(4096, 8.03e9, 8.03e9, 2.0, kv, 10), flops(4096), 1, bw, fl
    )
    assert t_comp > t_mem


def test_decode_time_falls_with_memory_bandwidth(catalog):
    h100 = catalog.get("h100")
    times = []
    for bw in (2.0, 3.35, 4.8, 8.0):
        chip = dataclasses.replace(h100, memory_bw_tbs=bw)
        r = serve(chip, CHAT, model="llama-3.1-70b", batch_size=16, gpus_per_replica=4)
        assert r.decode_bound == "memory"
        times.append(r.tpot_s)
    assert all(a > b for a, b in zip(times, times[1:], strict=False))
    # memory-bound: TPOT above the tensor-parallel sync floor is proportional to 1 / bandwidth
    sync = 2 * 80 * 1e-5  # 2 all-reduces x 80 layers x 10 us (data/serving_assumptions.csv)
    assert (times[0] - sync) / (times[-1] - sync) == pytest.approx(8.0 / 2.0, rel=1e-9)


def test_prefill_time_falls_with_flops(catalog):
    h100 = catalog.get("h100")
    ttfts = []
    for tflops in (500.0, 989.0, 2000.0):
        chip = dataclasses.replace(h100, bf16_dense_tflops=tflops)
        ttfts.append(serve(chip, CHAT, model="llama-3.1-70b", gpus_per_replica=4).ttft_s)
    assert ttfts[0] / ttfts[2] == pytest.approx(2000.0 / 500.0, rel=1e-9)


def test_prefill_counts_2_n_active_per_token_plus_causal_attention():
    r = serve("h100", CHAT, model="llama-3.1-70b")
    m = get_model("llama-3.1-70b")
    linear = 2 * m.active_params * 500
    attention = 2 * m.layers * m.attention_dim * 500**2
    assert r.prefill_flops_per_query == pytest.approx(linear + attention)


def test_moe_reads_only_active_experts_at_batch_1():
    m = get_model("mixtral-8x7b")
    one = decode_step_bytes(1, m.total_params, m.active_params, 2.0, 0.0, 0.0)
    many = decode_step_bytes(64, m.total_params, m.active_params, 2.0, 0.0, 0.0)
    assert one == pytest.approx(2 * m.active_params)
    assert many == pytest.approx(2 * m.total_params)


# --- replica memory fit ------------------------------------------------------------------------


def test_replica_sizes_are_powers_of_two_then_whole_systems():
    assert replica_candidates(8, limit=64) == [1, 2, 4, 8, 16, 32, 64]
    assert replica_candidates(72, limit=300) == [1, 2, 4, 8, 16, 32, 64, 72, 144, 288]


def test_70b_bf16_on_h100_needs_4_gpus_for_a_batch_of_64(catalog):
    # 141 GB of weights: 2 x 80 GB x 0.9 = 144 GB leaves 3 GB, too little for 64 sequences
    r = serve("h100", CHAT, model="llama-3.1-70b", batch_size=64)
    assert r.gpus_per_replica == 4
    assert r.weights_gb_per_replica == pytest.approx(141.2)


@settings(max_examples=40, deadline=None)
@given(
    model=st.sampled_from(["llama-3.1-8b", "llama-3.1-70b", "qwen3-32b", "mixtral-8x7b"]),
    chip=st.sampled_from(["a100-80gb", "h100", "h200", "b200", "mi300x"]),
    batch=st.integers(1, 512),
    context=st.integers(100, 8000),
)
def test_chosen_replica_holds_weights_and_kv_and_half_of_it_would_not(
    model, chip, batch, context, catalog
):
    demand = ServingDemand(1e6, 10, context, 300)
    r = serve(chip, demand, model=model, batch_size=batch, tpot_target_s=60.0, ttft_target_s=3600.0)
    acc = catalog.get(chip)
    m = get_model(model)
    need = m.total_params * 2 + batch * float(m.kv_bytes_per_token()) * (context + 300)
    have = lambda g: g * acc.memory_gb * 1e9 * 0.9  # noqa: E731
    assert have(r.gpus_per_replica) >= need * (1 - 1e-9)
    if r.gpus_per_replica > 1:
        assert have(r.gpus_per_replica / 2) < need


# --- demand, power, money ------------------------------------------------------------------------


def test_issue_example_70b_for_100m_users_on_h100():
    r = serve("h100", CHAT, params=7e10)
    assert r.feasible
    assert r.queries_per_s_average == pytest.approx(1e9 / 86_400)
    assert r.queries_per_s_peak == pytest.approx(1.5e9 / 86_400)
    assert r.gpus == r.replicas * r.gpus_per_replica
    assert r.systems == math.ceil(r.gpus / 8)
    assert r.tpot_s <= 0.05 and r.ttft_s <= 2.0
    # the fleet is sized for the peak: average utilisation about 1 / peak_to_average
    assert 0.6 < r.load_fraction <= 1 / 1.5
    # peak at nameplate x (1 + network) x the DESIGN-DAY PUE: 1 + (1.2 - 1) x 1.5 = 1.30
    # (design_pue_overhead_ratio of data/assumptions.csv); the average at the annual 1.2
    assert r.pue == pytest.approx(1.2) and r.design_pue == pytest.approx(1.3)
    assert r.facility_power_mw == pytest.approx(r.systems * 10.2e-3 * 1.1 * 1.3)
    assert r.facility_power_mw * 0.25 < r.average_facility_power_mw < r.facility_power_mw * 0.8
    assert r.energy_mwh_per_year == pytest.approx(r.average_facility_power_mw * 8760)
    queries = 1e9 * 365
    assert r.wh_per_query == pytest.approx(r.energy_mwh_per_year * 1e6 / queries)
    assert r.emissions_tco2_per_year == pytest.approx(r.energy_mwh_per_year * 0.37)
    # default pricing: amortized, the cost of one year of serving (8,760 h)
    assert r.pricing == "amortized" and r.served_hours == 8760
    assert r.cost_usd == r.amortized_cost_usd
    assert r.usd_per_million_tokens == pytest.approx(r.cost_usd / (queries * 900) * 1e6)
    assert r.usd_per_million_tokens_rented == pytest.approx(
        r.systems * 8 * 2.99 * 8760 / (queries * 900) * 1e6
    )
    assert sum(r.energy_breakdown.values()) == pytest.approx(1.0)


# --- money: the training economics for a year of serving (issue 10) ---------------------------

#: Llama 3.1 70B for 100 million users on H100: 705 DGX H100 systems (5,640 GPUs) at the
#: default TPOT of 50 ms (test_issue_example_70b_for_100m_users_on_h100's fleet).
H100_SYSTEMS = 705


def _chat(pricing: str, chip: str = "h100", **kw):
    return serve(chip, CHAT, model="llama-3.1-70b", pricing=pricing, **kw)


def test_rent_is_gpu_hours_times_the_chip_economics_rent():
    # data/chip_economics.csv h100: USD 2.99 per GPU-hour (Lambda on-demand H100 SXM), power
    # included: 705 systems x 8 GPUs x 8,760 h x 2.99 = USD 147,725,136.00 a year
    r = _chat("rent")
    assert r.systems == H100_SYSTEMS
    assert r.rental_cost_usd == pytest.approx(147_725_136.00, rel=1e-12)
    assert r.cost_usd == r.rental_cost_usd and r.pricing == "rent"
    assert "Lambda on-demand H100 SXM" in r.assumptions["rent_usd_per_gpu_hour"]["source"]


def test_the_three_pricings_cost_one_fleet_and_amortized_is_below_capex():
    runs = {p: _chat(p) for p in ("amortized", "rent", "capex")}
    a, capex = runs["amortized"], runs["capex"]
    for r in runs.values():  # one fleet, one set of answers; only cost_usd differs
        assert (r.systems, r.facility_power_mw, r.energy_mwh_per_year) == (
            a.systems,
            a.facility_power_mw,
            a.energy_mwh_per_year,
        )
        for name in ("amortized_cost_usd", "rental_cost_usd", "cluster_capex_usd"):
            assert getattr(r, name) == getattr(a, name)
        # the per-token costs follow cost_usd: 1e8 x 10 x 365 queries x 900 tokens a year
        assert r.usd_per_million_tokens == pytest.approx(r.cost_usd / (1e9 * 365 * 900) * 1e6)
        assert r.assumptions["pricing"]["value"] == r.pricing
    assert a.cost_usd == a.amortized_cost_usd
    assert capex.cost_usd == pytest.approx(capex.cluster_capex_usd + capex.electricity_cost_usd)
    # a year is far shorter than the break-even u / CRF(8%, 5 y) = 0.85 / 0.2505 = 3.4 years
    assert a.cost_usd < capex.cost_usd
    assert a.amortized_cost_usd < a.cluster_capex_usd  # capex is up front, never summed in


def test_amortized_hardware_follows_the_capital_recovery_factor_by_hand():
    # data/economics.csv: 5 years, 8% cost of capital, 85% utilisation, networking 19% of the
    # cluster, facility USD 11.7M per IT MW over 20 years; data/chip_economics.csv h100 33,750
    r = _chat("amortized")
    gpus = H100_SYSTEMS * 8
    servers = gpus * 33_750
    network = servers * 0.19 / 0.81
    facility = r.it_power_mw * 11.7e6
    assert r.cluster_capex_usd == pytest.approx(servers + network + facility, rel=1e-12)

    def crf(rate: float, years: float) -> float:
        return rate * (1 + rate) ** years / ((1 + rate) ** years - 1)

    share = 8760 / (8766 * 0.85)  # the year's hours over the hours allocated to paid work
    hardware = (servers + network) * crf(0.08, 5) * share + facility * crf(0.08, 20) * share
    assert r.amortized_cost_usd == pytest.approx(hardware + r.electricity_cost_usd, rel=1e-9)
    assert r.electricity_cost_usd == pytest.approx(r.energy_mwh_per_year * 80)
    # embodied: 462.5 kgCO2e per H100 (data/embodied.csv, Luccioni et al. 2022 basis), straight
    # line over 5 years at 85%
    assert r.embodied_tco2 == pytest.approx(gpus * 462.5 * 8760 / (5 * 8766 * 0.85) / 1e3)


@settings(max_examples=15, deadline=None)
@given(life=st.floats(1.01, 30.0))
def test_amortized_is_below_capex_for_any_service_life_longer_than_the_year_served(life):
    # without interest and idle time the year served pays 1 / life of the hardware (< all)
    kw = {"service_life_years": life, "cost_of_capital": 0.0, "hardware_utilisation": 1.0}
    a, c = _chat("amortized", **kw), _chat("capex", **kw)
    assert a.cost_usd < c.cost_usd


def test_legacy_pricing_names_map_to_the_new_ones():
    assert _chat("auto").pricing == "amortized"
    assert _chat("auto").cost_usd == _chat("amortized").cost_usd
    assert _chat("buy").pricing == "capex"
    assert _chat("buy").cost_usd == _chat("capex").cost_usd
    with pytest.raises(InputError, match="pricing"):
        _chat("lease")


def test_a_chip_without_a_catalog_price_is_costed_from_chip_economics():
    # data/accelerators.csv gives H200 no price and no rent (the old serving said "unknown");
    # data/chip_economics.csv: HGX H200 USD 39,083 per GPU (listing, Jan 2025) and an ESTIMATED
    # rent of 3.46 per GPU-hour (server price x the H100 rent/price ratio)
    from planner.catalog import load_catalog

    chip = load_catalog().get("h200")
    assert chip.price_usd_per_gpu is None and chip.rent_usd_per_gpu_hour is None
    for pricing in ("amortized", "rent", "capex"):
        r = _chat(pricing, chip="h200")
        assert r.pricing == pricing and r.cost_usd > 0
    gpus = r.systems * 8
    assert r.rental_cost_usd == pytest.approx(gpus * 8760 * 3.46)
    assert r.cluster_capex_usd == pytest.approx(gpus * 39_083 / 0.81 + r.it_power_mw * 11.7e6)
    assert "ESTIMATE" in r.assumptions["rent_usd_per_gpu_hour"]["source"]
    assert "ESTIMATE" not in r.assumptions["price_usd_per_gpu"]["source"]


def test_a_users_own_chip_without_a_price_is_one_clear_error():
    from planner.catalog import load_catalog

    mine = dataclasses.replace(
        load_catalog().get("h200"), id="my-h200", price_usd_per_gpu=None, rent_usd_per_gpu_hour=None
    )
    with pytest.raises(InputError) as err:
        serve(mine, CHAT, model="llama-3.1-70b")
    text = str(err.value)
    assert "price_usd_per_gpu" in text and "my-h200 has no price" in text
    assert "\n" not in text
    priced = serve(
        mine, CHAT, model="llama-3.1-70b", price_usd_per_gpu=39_083, rent_usd_per_gpu_hour=3.46
    )
    assert priced.cost_usd > 0 and math.isnan(priced.embodied_tco2)  # unknown, not 0
    json.dumps(priced.to_dict(), allow_nan=False)


def test_the_grid_peak_uses_the_design_day_pue_and_energy_the_annual_one():
    base = _chat("amortized")
    hot = _chat("amortized", design_pue=1.5)
    assert hot.design_pue == 1.5
    assert hot.facility_power_mw == pytest.approx(base.facility_power_mw * 1.5 / 1.3)
    assert hot.energy_mwh_per_year == base.energy_mwh_per_year
    assert hot.average_facility_power_mw == base.average_facility_power_mw
    assert hot.assumptions["design_pue"]["value"] == 1.5
    assert "design_pue_overhead_ratio" in base.assumptions["design_pue"]["source"]
    with pytest.raises(InputError, match="design_pue"):
        _chat("amortized", design_pue=1.1)  # below the annual 1.2


def test_compare_never_mixes_pricings():
    for pricing in ("rent", "capex"):
        frame = compare_serving(CHAT, model="llama-3.1-70b", pricing=pricing)
        priced = frame[frame["note"] == ""]
        assert len(priced) >= 8 and set(priced["pricing"]) == {pricing}


def test_cli_compare_says_the_pricing_in_force(capsys):
    from planner.cli import main

    args = ["serve", "-a", "h100", "--model", "llama-3.1-70b", "--users", "1e8"]
    args += ["--queries-per-user-day", "10", "--input-tokens", "500", "--output-tokens", "400"]
    assert main([*args, "--compare", "--pricing", "buy", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["pricing"] == "capex"
    assert {r["pricing"] for r in d["comparison"] if r.get("gpus")} == {"capex"}
    assert main([*args, "--compare-models", "llama-3.1-8b,llama-3.1-70b", "--pricing", "rent"]) == 0
    out = capsys.readouterr().out.replace("\n", " ")
    assert "cost: rent" in out


def test_reasoning_multiplier_multiplies_generated_tokens():
    r = serve("h100", CHAT, model="llama-3.1-8b", reasoning_multiplier=20)
    assert r.generated_tokens_per_query == 8000


def test_grid_fit_says_short_by_how_much_and_how_many_users_fit():
    r = serve("h100", CHAT, params=7e10)
    fit = serving_grid_fit(r, 5.0, 1e8)
    assert not fit.fits
    assert fit.short_mw == pytest.approx(r.facility_power_mw - 5.0)
    assert fit.max_systems * 10.2e-3 * 1.1 * 1.3 <= 5.0  # peak at the design-day PUE
    assert 0 < fit.max_users < 1e8
    assert serving_grid_fit(r, 100.0, 1e8).fits


def test_a_small_model_needs_far_fewer_gpus_and_watt_hours_than_a_large_one():
    df = compare_models("h100", CHAT, ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-405b"])
    assert df["gpus"].is_monotonic_increasing
    assert df["wh_per_query"].is_monotonic_increasing
    assert df.loc["llama-3.1-70b", "gpus"] > 4 * df.loc["llama-3.1-8b", "gpus"]


def test_compare_covers_every_chip_and_says_why_a_chip_is_left_out(catalog):
    df = compare_serving(CHAT, model="llama-3.1-70b", precision="fp8")
    assert set(df.index) == set(catalog.ids)
    assert df.loc["a100-80gb", "note"] == "no FP8 tensor mode"
    assert df.loc["b200", "gpus"] < df.loc["h100", "gpus"]


# --- monotonicity (hypothesis) ---------------------------------------------------------------

_models = st.sampled_from(["llama-3.1-8b", "qwen3-32b", "llama-3.1-70b", "mixtral-8x7b"])
_chips = st.sampled_from(["h100", "b200", "mi300x", "a100-80gb"])


@settings(max_examples=40, deadline=None)
@given(
    model=_models,
    chip=_chips,
    users=st.floats(1e3, 1e9),
    factor=st.floats(1.0, 100.0),
    tokens=st.integers(50, 4000),
)
def test_more_users_never_fewer_gpus(model, chip, users, factor, tokens):
    d = lambda u: ServingDemand(u, 10, tokens, 300)  # noqa: E731
    few = serve(chip, d(users), model=model)
    many = serve(chip, d(min(users * factor, 1e11)), model=model)
    assert many.gpus >= few.gpus
    assert many.facility_power_mw >= few.facility_power_mw


@settings(max_examples=40, deadline=None)
@given(
    model=_models,
    chip=_chips,
    multiplier=st.floats(1.0, 30.0),
    more=st.floats(1.0, 5.0),
)
def test_longer_reasoning_never_less_energy(model, chip, multiplier, more):
    d = ServingDemand(1e7, 10, 500, 300)
    # a context beyond the model's window is bad input (exit 2), not a smaller service
    window = get_model(model).context_window_tokens
    assume(500 + 300 * min(multiplier * more, 1000) <= window)
    short = serve(chip, d, model=model, reasoning_multiplier=multiplier)
    long = serve(chip, d, model=model, reasoning_multiplier=min(multiplier * more, 1000))
    assert long.energy_mwh_per_year >= short.energy_mwh_per_year * (1 - 1e-9)
    assert long.wh_per_query >= short.wh_per_query * (1 - 1e-9)


@settings(max_examples=30, deadline=None)
@given(bw=st.floats(0.3, 1.0), batch=st.integers(1, 64))
def test_tpot_never_rises_with_bandwidth_utilisation(bw, batch):
    low = serve("h100", CHAT, model="llama-3.1-8b", batch_size=batch, bandwidth_utilisation=bw)
    high = serve(
        "h100", CHAT, model="llama-3.1-8b", batch_size=batch, bandwidth_utilisation=min(bw * 1.2, 1)
    )
    assert high.tpot_s <= low.tpot_s * (1 + 1e-12)


# --- vectorised path and frames ---------------------------------------------------------------


def test_vectorised_demand_equals_one_call_per_scenario():
    rng = np.random.default_rng(1)
    users = rng.uniform(1e5, 1e9, 6)
    out_tokens = rng.integers(50, 3000, 6).astype(float)
    mult = rng.uniform(1, 20, 6)
    many = serve(
        "h100",
        ServingDemand(users, 10, 500, out_tokens),
        params=7e10,
        reasoning_multiplier=mult,
    )
    frame = many.to_frame()
    assert len(frame) == 6
    for i in range(6):
        one = serve(
            "h100",
            ServingDemand(users[i], 10, 500, out_tokens[i]),
            params=7e10,
            reasoning_multiplier=mult[i],
        )
        for key in ("gpus", "gpus_per_replica", "batch_size", "wh_per_query", "tpot_s"):
            assert frame[key].iloc[i] == pytest.approx(getattr(one, key)), key


def test_serve_frame_mixes_chips_and_models_and_keeps_the_index():
    df = pd.DataFrame(
        {
            "accelerator": ["h100", "b200", "h100", "mi300x"],
            "model": ["llama-3.1-8b", "llama-3.1-70b", "llama-3.1-70b", "llama-3.1-8b"],
            "users": [1e6, 1e7, 1e8, 1e5],
            "queries_per_user_day": 10.0,
            "input_tokens": 500.0,
            "output_tokens": 400.0,
            "pue": [1.1, 1.2, 1.3, 1.4],
        },
        index=["a", "b", "c", "d"],
    )
    out = serve_frame(df)
    assert list(out.index) == ["a", "b", "c", "d"]
    one = serve("b200", ServingDemand(1e7, 10, 500, 400), model="llama-3.1-70b", pue=1.2)
    assert out.loc["b", "gpus"] == one.gpus
    assert out.loc["b", "facility_power_mw"] == pytest.approx(one.facility_power_mw)


# --- errors and infeasible plans -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"demand": ServingDemand(0, 10, 500, 400)}, "users"),
        ({"demand": ServingDemand(1e6, 10, 500, float("nan"))}, "output_tokens"),
        ({"reasoning_multiplier": 0.5}, "reasoning_multiplier"),
        ({"peak_to_average": 0.9}, "peak_to_average"),
        ({"tpot_target_s": -1}, "tpot_target_s"),
        ({"bandwidth_utilisation": 1.5}, "bandwidth_utilisation"),
        ({"idle_load_fraction": 0.9}, "idle_load_fraction"),
        ({"gpus_per_replica": 2.5}, "gpus_per_replica"),
        ({"precision": "fp16"}, "precision"),
    ],
)
def test_bad_input_names_the_field(kwargs, field):
    demand = kwargs.pop("demand", CHAT)
    with pytest.raises(InputError) as err:
        serve("h100", demand, model="llama-3.1-8b", **kwargs)
    assert err.value.field == field
    assert "\n" not in str(err.value)


def test_active_params_above_params_is_refused():
    with pytest.raises(InputError, match="active_params"):
        serve("h100", CHAT, params=1e10, active_params=2e10)


def test_405b_on_one_h100_is_infeasible_with_a_reason_and_no_nan_in_json():
    r = serve("h100", CHAT, model="llama-3.1-405b", gpus_per_replica=1)
    assert r.feasible is False
    assert "do not fit" in r.infeasible_reason
    json.dumps(r.to_dict(), allow_nan=False)


def test_presets_load_with_a_source_for_every_input():
    presets = load_serving_presets()
    assert {"chatgpt-2023", "epoch-gpt4o-2025", "gemini-median-2025"} <= set(presets)
    for p in presets.values():
        assert set(p.inputs) == set(p.sources)
        assert all(len(s) > len(f"preset {p.name}: ") for s in p.sources.values())


def test_a_preset_with_an_unknown_key_names_file_and_field(tmp_path):
    bad = tmp_path / "p.toml"
    bad.write_text('[x]\ntitle = "t"\nsource = "s"\nuserz = { value = 1, source = "s" }\n')
    with pytest.raises(CatalogError, match=r"p\.toml, field 'x\.userz': unknown key"):
        load_serving_presets(str(bad))


def test_explicit_values_override_a_preset_and_say_so():
    req = build_service_request("chatgpt-2023", users=5e8, accelerator="h100")
    assert req.demand.users == 5e8 and req.accelerator == "h100"
    assert req.model == "gpt-3-175b"
    r = req.serve()
    assert r.assumptions["users"]["value"] == 5e8


# --- the CLI contract (subprocess, as a user runs it) ---------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """``planner serve ARGS`` as a real process (forked with the imports done:
    tests/_forkserver.py)."""
    return forkserver.run(["serve", *args], timeout=120)


def test_cli_issue_example_prints_the_json_contract():
    p = _run(
        "--accelerator",
        "h100",
        "--params",
        "7e10",
        "--users",
        "1e8",
        "--queries-per-user-day",
        "10",
        "--input-tokens",
        "500",
        "--output-tokens",
        "400",
        "--json",
    )
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert SERVE_CONTRACT_KEYS <= set(d)
    assert d["gpus"] == d["replicas"] * d["gpus_per_replica"]
    for item in d["assumptions"].values():
        assert set(item) == {"value", "unit", "source"} and item["source"]
    lib = serve("h100", CHAT, params=7e10)
    assert d["gpus"] == lib.gpus and d["wh_per_query"] == pytest.approx(lib.wh_per_query)


def test_cli_reasoning_beyond_the_model_window_exits_2_naming_the_field():
    p = _run("--preset", "chatgpt-2023", "--reasoning-multiplier", "20")
    assert p.returncode == 2
    assert "input_tokens" in p.stderr and "context window" in p.stderr


def test_cli_preset_with_reasoning_and_grid_gives_a_verdict():
    # 500 + 300 x 5 = 2,000 tokens: within GPT-3's 2,048-token window
    p = _run("--preset", "chatgpt-2023", "--reasoning-multiplier", "5", "--grid-mw", "5")
    assert p.returncode == 0, p.stderr
    assert "Grid: short by" in p.stdout and "MW" in p.stdout
    p = _run("--preset", "chatgpt-2023", "--grid-mw", "100", "--json")
    d = json.loads(p.stdout)
    assert d["grid"]["fits"] is True and d["preset"] == "chatgpt-2023"
    assert [r["quantity"] for r in d["published"]] == ["systems", "production_systems"]


def test_cli_compare_lists_every_chip_as_json(catalog):
    p = _run("--preset", "epoch-gpt4o-2025", "--compare", "--json")
    assert p.returncode == 0, p.stderr
    rows = json.loads(p.stdout)["comparison"]
    assert {r["accelerator"] for r in rows} == set(catalog.ids)


def test_cli_bad_input_is_one_line_and_exit_2():
    p = _run("--accelerator", "h100", "--params", "-5", "--users", "1e8")
    assert p.returncode == 2
    assert "queries_per_user_day = None is not allowed: expected a value" in p.stderr
    p = _run("--preset", "llama70b-h100-example", "--model", "x", "--params", "-5")
    assert p.returncode == 2
    assert "params" in p.stderr
    p = _run("--preset", "llama70b-h100-example", "--params", "-5")
    assert p.returncode == 2
    assert p.stderr.strip().count("\n") == 0
    assert "params = -5 is not allowed" in p.stderr


def test_cli_infeasible_service_exits_3_with_parseable_json():
    p = _run(
        "--accelerator",
        "h100",
        "--model",
        "llama-3.1-405b",
        "--gpus-per-replica",
        "1",
        "--users",
        "1e6",
        "--queries-per-user-day",
        "1",
        "--input-tokens",
        "100",
        "--output-tokens",
        "100",
        "--json",
    )
    assert p.returncode == 3
    d = json.loads(p.stdout)
    assert d["feasible"] is False and d["gpus"] is None
    assert "do not fit" in p.stderr


def test_bytes_per_param_by_precision():
    assert BYTES_PER_PARAM == {"bf16": 2.0, "fp8": 1.0, "fp4": 0.5}


# --- the serving side of the joint optimiser (planner.serving_plan) --------------------------


def test_service_options_have_the_optimiser_columns_and_agree_with_serve():
    from planner.serving_plan import OPTION_COLUMNS, ServiceSpec, plan_totals, service_options

    chat = ServiceSpec("chat", CHAT, model="llama-3.1-70b")
    opt, excluded = service_options(
        [chat], ["h100", "b200", "a100-80gb"], grid_limit_mw=100.0, budget_usd=1e9
    )
    assert opt.index.names == ["run", "chip"]
    assert set(OPTION_COLUMNS) <= set(opt.columns)
    assert excluded.empty
    row = opt.loc[("chat", "h100")]
    lib = serve("h100", CHAT, model="llama-3.1-70b")
    assert math.ceil(row["systems_needed"]) == lib.systems
    assert row["max_systems"] == math.floor(100.0 / row["grid_power_mw_per_system"])
    totals = plan_totals(opt, {"chat": ("h100", int(lib.systems))})
    assert totals["grid_power_mw"] == pytest.approx(lib.facility_power_mw)
    assert totals["energy_mwh"] == pytest.approx(lib.energy_mwh_per_year)
    assert totals["emissions_tco2"] == pytest.approx(lib.emissions_tco2_per_year)
    # more systems than needed: only their idle draw adds energy
    more = plan_totals(opt, {"chat": ("h100", int(lib.systems) + 10)})
    assert more["energy_mwh"] - totals["energy_mwh"] == pytest.approx(
        10 * row["energy_mwh_per_system"]
    )
    # amortized (the default): the hardware's share of a year is a running cost per system,
    # so the plan at the fleet's systems costs what planner serve says
    assert row["pricing"] == "amortized" and row["capex_usd_per_system"] == 0
    assert totals["cost_usd"] == pytest.approx(lib.amortized_cost_usd, rel=1e-9)
    assert more["cost_usd"] - totals["cost_usd"] == pytest.approx(10 * row["cost_usd_per_system"])
    # capex: the whole cluster (servers, networking, facility share) per system
    capex, _ = service_options([chat], ["h100"], assumptions=_with(pricing="capex"))
    whole = plan_totals(capex, {"chat": ("h100", int(lib.systems))})
    assert whole["cost_usd"] == pytest.approx(_chat("capex").cost_usd, rel=1e-9)
    # rented capacity is off site: no grid power, rent per system (data/chip_economics.csv
    # a100-80gb: Lambda on-demand A100 SXM 80GB USD 1.79/h)
    rent, _ = service_options([chat], ["a100-80gb"], assumptions=_with(pricing="rent"))
    rented = rent.loc[("chat", "a100-80gb")]
    assert not rented["on_site"] and rented["grid_power_mw_per_system"] == 0
    assert rented["cost_usd_per_system"] == pytest.approx(1.79 * 8 * 8760)
    with pytest.raises(InputError, match="chat.systems"):
        plan_totals(opt, {"chat": ("h100", 1)})


def _with(**changes):
    from planner.serving import ServingAssumptions

    return ServingAssumptions.defaults().with_("test", **changes)


def test_service_options_exclude_a_chip_without_the_precision():
    from planner.serving_plan import ServiceSpec, service_options

    spec = ServiceSpec("s", CHAT, model="llama-3.1-8b", overrides={"precision": "fp8"})
    opt, excluded = service_options([spec], ["h100", "a100-80gb"])
    assert list(opt.index) == [("s", "h100")]
    assert excluded.iloc[0]["reason"] == "no FP8 tensor mode"


def test_every_result_field_is_described_with_a_unit_in_the_attributes_table():
    from dataclasses import fields

    from planner._paths import data_dir
    from planner.serving import ServingResult

    table = pd.read_csv(data_dir() / "serving.attributes.csv")
    assert list(table["attribute"]) == [f.name for f in fields(ServingResult)]
    assert table["description"].str.len().min() > 3


def test_joint_plan_reference_one_run_and_one_service_under_a_binding_grid():
    """A brute-force reference for the joint optimiser (planner.optimization owns the MILP):
    the GTC 2024 training run (H100 or GB200) and a 70B chat service for 100 million users
    (H100, GB200 or MI300X) share one grid. Whole cluster capex on both sides (pricing capex,
    as gtc2024.toml's "capex" charges a run), prices of data/chip_economics.csv except MI300X at
    a buyer's USD 12,500 per GPU (Citi 2024: USD 10,000-15,000, the catalog's former price;
    at the listed 25,734 GB200 is cheapest for the service anyway and no grid moves it).
    Peaks at the design-day PUE (1.10 -> 1.15 liquid, 1.20 -> 1.30 for the service). Without
    a limit the cheapest plan is GB200 for the run and MI300X for the service (4.25 + 7.62 =
    11.87 MW); under 10 MW the grid binds and the service moves to GB200 (4.25 + 5.32 = 9.57
    MW) at a higher cost."""
    import itertools

    from planner.optimization import build_model
    from planner.scenarios import load_scenario
    from planner.serving_plan import OPTION_COLUMNS, ServiceSpec, service_options

    train = build_model(load_scenario("data/scenarios/gtc2024.toml")).options
    chat = [ServiceSpec("chat", CHAT, model="llama-3.1-70b")]
    serve_opt = pd.concat(
        [
            service_options(chat, ["h100", "gb200"], assumptions=_with(pricing="capex"))[0],
            service_options(
                chat, ["mi300x"], assumptions=_with(pricing="capex", price_usd_per_gpu=12_500)
            )[0],
        ]
    )
    joint = pd.concat([train[OPTION_COLUMNS], serve_opt[OPTION_COLUMNS]])
    assert list(joint.columns) == OPTION_COLUMNS and joint.index.names == ["run", "chip"]

    def plan(grid_mw: float) -> tuple[float, dict[str, str], float] | None:
        best = None
        for c_run, c_svc in itertools.product(["h100", "gb200"], ["h100", "gb200", "mi300x"]):
            t = train.loc[("gpt-moe-1.8t", c_run)]
            s = serve_opt.loc[("chat", c_svc)]
            n_t = math.ceil(t["systems_needed"] * (1 - 1e-12))
            n_s = math.ceil(s["systems_needed"] * (1 - 1e-12))
            grid = n_t * t["grid_power_mw_per_system"] + n_s * s["grid_power_mw_per_system"]
            if grid > grid_mw:
                continue
            cost = (
                n_t * t["capex_usd_per_system"]
                + t["run_cost_usd"]
                + n_s * (s["capex_usd_per_system"] + s["cost_usd_per_system"])
                + s["run_cost_usd"]
            )
            if best is None or cost < best[0]:
                best = (cost, {"gpt-moe-1.8t": c_run, "chat": c_svc}, grid)
        return best

    ample = plan(1_000.0)
    tight = plan(10.0)
    assert ample is not None and tight is not None
    assert ample[1] == {"gpt-moe-1.8t": "gb200", "chat": "mi300x"}
    assert ample[2] == pytest.approx(11.87, abs=0.01)
    assert tight[1] == {"gpt-moe-1.8t": "gb200", "chat": "gb200"}
    assert tight[2] == pytest.approx(9.57, abs=0.01) and tight[0] > ample[0]
    assert plan(8.0) is None  # below the smallest plan: infeasible


@settings(max_examples=40, deadline=None)
@given(
    chip=st.sampled_from(["v100", "a100-40gb", "h100", "gb200", "mi325x"]),
    params=st.floats(1e8, 2e12),
    users=st.floats(1.0, 1e10),
    input_tokens=st.integers(1, 200_000),
    output_tokens=st.integers(1, 50_000),
    tpot=st.floats(1e-3, 1.0),
)
def test_json_never_holds_nan_or_inf(chip, params, users, input_tokens, output_tokens, tpot):
    r = serve(
        chip,
        ServingDemand(users, 5, input_tokens, output_tokens),
        params=params,
        tpot_target_s=tpot,
    )
    json.dumps(r.to_dict(), allow_nan=False)
    if r.feasible:
        assert r.gpus >= 1 and r.facility_power_mw > 0 and r.wh_per_query > 0


def test_vectorised_path_marks_infeasible_rows_and_keeps_the_others():
    # a 10-million-token prompt cannot be prefilled within the 2 s TTFT on any replica
    demand = ServingDemand(np.array([1e6, 1e6, 1e6]), 10, np.array([500, 1e7, 500]), 400)
    r = serve("h100", demand, params=np.array([7e9, 7e10, 7e10]))
    assert list(r.feasible) == [True, False, True]
    assert np.isnan(r.gpus[1]) and r.batch_limit[1] == "infeasible"
    one = serve("h100", ServingDemand(1e6, 10, 500, 400), params=7e10)
    assert r.gpus[2] == one.gpus


def test_cli_compare_models_small_vs_large_for_the_same_demand_in_a_real_process() -> None:
    # Issue 12: "small vs large models for the same demand": more parameters, more GPUs and
    # more energy per query, all else equal.
    import json

    args = ["--accelerator", "h100", "--users", "1e8", "--queries-per-user-day", "10"]
    args += ["--input-tokens", "500", "--output-tokens", "400", "--json"]
    proc = _run(*args, "--compare-models", "llama-3.1-8b,llama-3.1-70b")
    assert proc.returncode == 0, proc.stderr
    rows = {r["model"]: r for r in json.loads(proc.stdout)["comparison"]}
    small, large = rows["llama-3.1-8b"], rows["llama-3.1-70b"]
    assert small["gpus"] < large["gpus"] and small["wh_per_query"] < large["wh_per_query"]
    bad = _run(*args, "--compare-models", "nosuch")
    assert bad.returncode == 2 and bad.stdout == "" and bad.stderr.count("\n") == 1


def test_cli_text_says_the_pricing_and_both_pues_and_takes_a_design_pue(capsys):
    from planner.cli import main

    args = ["serve", "--preset", "llama70b-h100-example"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "(amortized)" in out and quantities.label("cluster_capex_usd", unit=False) in out
    assert "design-day PUE 1.3" in out and "annual PUE 1.2" in out
    assert main([*args, "--design-pue", "1.5", "--pricing", "capex", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["design_pue"] == 1.5 and d["pricing"] == "capex"
    assert d["assumptions"]["design_pue"]["source"] == "user input"
    assert main([*args, "--design-pue", "1.1"]) == 2  # below the annual 1.2: one line
    err = capsys.readouterr().err
    assert "design_pue" in err and err.count("\n") == 1
