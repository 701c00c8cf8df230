"""Amortised economics and embodied carbon reproduce the published figures practitioners quote."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import amortization as am
from planner.catalog import Catalog
from planner.errors import InputError

# --- Cottier et al. 2024 (arXiv 2405.21015), GPT-4 ------------------------------------------


def test_cottier_gpt4_amortised_hardware_and_energy_is_about_40m() -> None:
    # Cottier et al. 2024 (model_costs.csv of their code): GPT-4 hardware capex + energy
    # USD 40.7M; the issue asks for "about $40M" within 30%. Recomputed from their inputs:
    # 25,000 A100 x 2,280 h, DGX A100 USD 24,875/GPU depreciated 0.14 OOM/yr for 1.75 years,
    # 19% interconnect, energy at 75% of 812.5 W x PUE 1.25 x USD 80.6/MWh.
    got = am.cottier_gpt4()
    assert got["hardware_energy_usd"] == pytest.approx(40e6, rel=0.30)
    assert got["hardware_energy_usd"] == pytest.approx(40.7e6, rel=0.02)  # measured: 40.16M
    assert got["server_value_usd_per_gpu"] == pytest.approx(14_165, rel=0.01)
    assert got["energy_usd"] == pytest.approx(3.50e6, rel=0.01)


def test_cottier_gpt4_cloud_cost_is_about_79m() -> None:
    # Cottier et al. 2024: GPT-4 at cloud prices USD 78.6M; 57M A100-hours x USD 1.36
    got = am.cottier_gpt4()
    assert got["cloud_usd"] == pytest.approx(79e6, rel=0.30)
    assert got["cloud_usd"] == pytest.approx(78.6e6, rel=0.02)  # measured: 77.5M


def test_semianalysis_gpt4_cost_about_60m_at_about_30pct_utilisation() -> None:
    # SemiAnalysis (July 2023): ~25,000 A100 for 90-100 days at 32-36% MFU, USD 1 per
    # A100-hour -> ~USD 60M. 2.15e25 FLOPs at 34% of 312 TFLOP/s -> 93.8 days.
    days = 2.15e25 / (25_000 * 312e12 * 0.34) / 86_400
    assert 90 <= days <= 100
    cost = am.rental_cost_usd(25_000 * days * 24, 1.0)
    assert cost == pytest.approx(60e6, rel=0.10)


def test_amortised_gpt4_is_tens_of_millions_not_the_purchase_price() -> None:
    # 'buy' charged GPT-4 on 25,000 A100 the whole $626M purchase; amortised over
    # 5 years at 85% use and 8% cost of capital, 95 days of it is a small share.
    a100 = am.chip_costs("a100-40gb")
    capex = am.cluster_capex_usd(
        25_000, a100["server_price_usd_per_gpu"], it_power_mw=25_000 * 0.8125e-3 * 1.1
    )
    run = am.amortized_cost_usd(
        25_000, 95, a100["server_price_usd_per_gpu"], it_power_mw=25_000 * 0.8125e-3 * 1.1
    )
    assert 20e6 < run.hardware_usd < 100e6
    assert run.hardware_usd < capex.total_usd / 5


# --- embodied emissions (Luccioni et al. 2022, BLOOM) ---------------------------------------


def test_bloom_embodied_emissions_are_11_2_tco2e() -> None:
    # Luccioni, Viguier, Ligozat 2022 (arXiv 2211.02001): 1,082,990 A100-hours, 150 kgCO2e per
    # GPU + 2,500 kgCO2e per 8-GPU server, 6-year life (8,760 h years), 85% use -> 11.2 tCO2e.
    per_gpu = am.chip_costs("a100-80gb")["embodied_kgco2e_per_gpu"]
    assert per_gpu == pytest.approx(150 + 2500 / 8)
    gpus, days = 384, 1_082_990 / 384 / 24
    life = 6 * 8_760 / am.HOURS_PER_YEAR  # their year has 8,760 h
    got = am.embodied_tco2(gpus, days, per_gpu, life_years=life, utilisation=0.85)
    assert got == pytest.approx(11.2, rel=0.01)


def test_embodied_scales_with_run_length_and_gpus() -> None:
    one = am.embodied_tco2(1000, 30, 462.5)
    assert am.embodied_tco2(2000, 30, 462.5) == pytest.approx(2 * one)
    assert am.embodied_tco2(1000, 60, 462.5) == pytest.approx(2 * one)


# --- amortisation arithmetic and properties -------------------------------------------------


def test_capital_recovery_factor_textbook_values() -> None:
    assert am.capital_recovery_factor(0.0, 5) == pytest.approx(0.2)
    assert am.capital_recovery_factor(0.08, 5) == pytest.approx(0.25046, abs=1e-5)
    assert am.break_even_years(0.08, 5, 0.85) == pytest.approx(3.394, abs=0.01)


@settings(max_examples=60, deadline=None)
@given(
    st.floats(1e3, 1e10),  # capex
    st.floats(0.0, 0.2),  # cost of capital
    st.floats(2.0, 10.0),  # life, years
    st.floats(0.3, 1.0),  # utilisation
    st.floats(0.0, 0.999),  # run length as a fraction of the break-even
)
def test_amortised_below_capex_for_any_run_shorter_than_break_even(capex, r, life, u, frac) -> None:
    years = frac * am.break_even_years(r, life, u)
    got = am.amortized_hardware_usd(
        capex, years * am.HOURS_PER_YEAR, life_years=life, utilisation=u, cost_of_capital=r
    )
    assert got < capex


@settings(max_examples=40, deadline=None)
@given(st.floats(2.0, 10.0), st.floats(0.0, 0.999))
def test_without_interest_or_idle_time_break_even_is_the_service_life(life, frac) -> None:
    # The property, exactly: r = 0, u = 1 -> any run shorter than the life costs less.
    assert am.break_even_years(0.0, life, 1.0) == pytest.approx(life)
    got = am.amortized_hardware_usd(
        1e9, frac * life * am.HOURS_PER_YEAR, life_years=life, utilisation=1.0, cost_of_capital=0.0
    )
    assert got < 1e9


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["a100-40gb", "h100", "b200", "gb200", "mi300x"]),
    st.integers(8, 200_000),
    st.floats(0.01, 365.0),
)
def test_default_amortised_cost_below_cluster_capex_for_runs_under_a_year(chip, gpus, days) -> None:
    price = am.chip_costs(chip)["server_price_usd_per_gpu"]
    it_mw = gpus * 1.4e-3
    capex = am.cluster_capex_usd(gpus, price, it_power_mw=it_mw).total_usd
    run = am.amortized_cost_usd(gpus, days, price, it_power_mw=it_mw)
    assert run.hardware_usd < capex


def test_networking_is_19pct_of_servers_plus_network() -> None:
    c = am.cluster_capex_usd(1000, 30_000)
    assert c.networking_usd / (c.servers_usd + c.networking_usd) == pytest.approx(0.19)
    assert c.facility_usd == 0


def test_facility_share_uses_cost_per_mw() -> None:
    c = am.cluster_capex_usd(1000, 30_000, it_power_mw=10.0)
    assert c.facility_usd == pytest.approx(117e6)  # Cushman & Wakefield 2025: 11.7M/MW


def test_functions_are_vectorised() -> None:
    days = np.array([10.0, 20.0, 40.0])
    got = am.amortized_cost_usd(1000, days, 30_000, energy_cost_usd=np.array([1.0, 2.0, 3.0]))
    assert np.shape(got.total_usd) == (3,)
    np.testing.assert_allclose(np.asarray(got.hardware_usd) / days, got.hardware_usd[0] / 10.0)


def test_bad_values_are_input_errors() -> None:
    with pytest.raises(InputError):
        am.amortized_hardware_usd(1e6, 100, utilisation=1.5)
    with pytest.raises(InputError):
        am.cluster_capex_usd(-1, 30_000)
    with pytest.raises(InputError):
        am.chip_costs("tpu-v5")


# --- data: every chip priced (estimates marked), sources everywhere -------------------------


def test_every_catalog_chip_has_a_server_price_a_rent_and_embodied(catalog: Catalog) -> None:
    frame = am.chip_economics()
    for chip in catalog.ids:
        row = frame.loc[chip]
        assert row["server_price_usd_per_gpu"] > 0
        assert row["rent_usd_per_gpu_hour"] > 0
        assert row["embodied_kgco2e_per_gpu"] > 0
        for flag, source in (
            ("server_price_estimate", "server_price_source"),
            ("rent_estimate", "rent_source"),
            ("embodied_estimate", "embodied_source"),
        ):
            assert bool(row[flag]) == ("ESTIMATE" in row[source]), (chip, source)


def test_catalog_prices_and_rents_agree_where_the_catalog_has_them(catalog: Catalog) -> None:
    frame = am.chip_economics()
    for acc in catalog:
        if acc.rent_usd_per_gpu_hour is not None:
            assert frame.loc[acc.id, "rent_usd_per_gpu_hour"] == acc.rent_usd_per_gpu_hour


def test_economics_parameters_have_sources_and_estimates_are_marked() -> None:
    params = am.economics_parameters()
    for p in params.values():
        assert p.source
        assert p.estimate == p.source.startswith("ESTIMATE")
    assert params["networking_share_of_cluster_capex"].value == 0.19


def test_measured_power_covers_every_chip_and_hopper_average_is_below_its_peak(
    catalog: Catalog,
) -> None:
    power = am.measured_power()
    assert set(catalog.ids) <= set(power.index)
    h100 = power.loc["h100"]
    # Newkirk et al. 2025 average ~76% vs Latif et al. 2024 peak 82% of the 10.2 kW DGX rating
    assert h100["average_fraction_of_nameplate"] == pytest.approx(0.76)
    assert h100["high_fraction_of_nameplate"] == pytest.approx(0.82)
    # Patterson et al. 2021: GPT-3 on V100 measured 330 W per accelerator of 437.5 W nameplate
    assert power.loc["v100", "average_fraction_of_nameplate"] == pytest.approx(
        330 / 437.5, abs=0.001
    )


def test_measured_load_fraction_for_the_power_chain() -> None:
    avg, low, high, source = am.measured_load_fraction("H100")
    assert (avg, low, high) == (0.76, 0.76, 0.82)
    assert "Latif" in source and "Newkirk" in source
    with pytest.raises(InputError):
        am.measured_load_fraction("tpu-v5")


def test_run_economics_reproduces_cottier_gpt4_with_preset_inputs() -> None:
    # The preset the lead can ship (issue 10): Cottier et al.'s method expressed in the
    # planner's general amortisation: life 1 / (0.14 ln 10) = 3.10 years, no cost of capital,
    # 100% use, 19% networking, no facility, server value USD 14,165 per GPU at training start,
    # energy 25,000 x 609.4 W x PUE 1.25 x 2,280 h x USD 80.6/MWh.
    import math

    days = 2_280 / 24
    energy_usd = 25_000 * 609.375 * 1.25 * 2_280 / 1e6 * 80.6
    econ = am.run_economics(
        "a100-40gb",
        25_000,
        days,
        it_power_mw=0.0,
        electricity_cost_usd=energy_usd,
        server_price_usd_per_gpu=14_165,
        rent_usd_per_gpu_hour=1.36,
        life_years=1 / (0.14 * math.log(10)),
        utilisation=1.0,
        cost_of_capital=0.0,
        networking_share=0.19,
        facility_usd_per_mw=0.0,
    )
    assert econ.cost_usd("amortized") == pytest.approx(40.7e6, rel=0.02)
    assert econ.cost_usd("rent") == pytest.approx(78.6e6, rel=0.02)
    assert econ.cost_usd("capex") > 10 * econ.cost_usd("amortized")
    with pytest.raises(InputError):
        econ.cost_usd("buy")


def test_run_economics_defaults_cover_every_chip_and_are_vectorised(catalog: Catalog) -> None:
    for chip in catalog.ids:
        econ = am.run_economics(
            chip,
            np.array([1024.0, 8192.0]),
            np.array([30.0, 90.0]),
            it_power_mw=np.array([1.5, 12.0]),
            electricity_cost_usd=np.array([1e6, 1e7]),
        )
        for value in (
            econ.amortized_cost_usd,
            econ.rental_cost_usd,
            econ.cluster_capex_usd,
            econ.embodied_tco2,
        ):
            assert np.shape(value) == (2,) and np.all(np.asarray(value) > 0)
        assert np.all(np.asarray(econ.amortized.hardware_usd) < np.asarray(econ.cluster_capex_usd))


def test_run_economics_for_a_chip_outside_the_table_needs_its_prices() -> None:
    with pytest.raises(InputError, match="chip_economics"):
        am.run_economics("my-asic", 1000, 30, it_power_mw=1.0, electricity_cost_usd=1e5)
    econ = am.run_economics(
        "my-asic",
        1000,
        30,
        it_power_mw=1.0,
        electricity_cost_usd=1e5,
        server_price_usd_per_gpu=20_000,
        rent_usd_per_gpu_hour=2.0,
    )
    assert econ.rental_cost_usd == pytest.approx(1000 * 30 * 24 * 2.0)
    assert np.isnan(econ.embodied_tco2)


def test_an_estimated_source_says_estimate_once():
    from planner.amortization import price_assumptions
    from planner.catalog import load_catalog

    for chip in load_catalog():
        for row in price_assumptions(chip):
            assert "ESTIMATE: ESTIMATE" not in row[3], (chip.id, row[0])
    rent = {r[0]: r[3] for r in price_assumptions(load_catalog().get("gb200"))}
    assert rent["rent_usd_per_gpu_hour"].count("ESTIMATE") == 1
