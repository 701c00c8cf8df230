"""The AI fleet is consistent with the money and the chips (issue 11).

Published figures are written here again on purpose (not read from data/fleet), with their
sources, so an edit of the data cannot quietly move the target.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import fleet
from planner.errors import CatalogError, InputError
from planner.projection import project

ROOT = Path(__file__).resolve().parents[1]
FLEET = ROOT / "data" / "fleet"
SCEN = ROOT / "data" / "projections"


@pytest.fixture(scope="module")
def checks() -> pd.DataFrame:
    return fleet.reconcile()


def _check(table: pd.DataFrame, check: str, scope: str, year: int) -> pd.Series:
    row = table[(table["check"] == check) & (table["scope"] == scope) & (table["year"] == year)]
    assert len(row) == 1
    return row.iloc[0]


# ------------------------------------------------------------------------------------------
# Revenue and compute-stock reconciliation
# ------------------------------------------------------------------------------------------


def test_every_revenue_and_compute_check_is_within_its_stated_tolerance(checks):
    assert len(checks) == 10
    assert checks["within"].all()
    assert (checks.loc[checks["check"] == "revenue", "error"].abs() <= 0.15).all()


@pytest.mark.parametrize(
    ("year", "published_usd", "measured_error"),
    [
        (2022, 10.9e9, +0.042),  # TechInsights: 2.64 million NVIDIA DC GPUs for USD 10.9 bn
        (2023, 36.2e9, -0.001),  # TechInsights: 3.76 million for USD 36.2 bn
        (2024, 102.2e9 * 0.93, -0.058),  # NVIDIA 10-K FY2025 compute revenue x GPU fraction
    ],
)
def test_nvidia_units_times_asp_match_data_centre_gpu_revenue(
    checks, year, published_usd, measured_error
):
    row = _check(checks, "revenue", "NVIDIA", year)
    assert row["published"] == pytest.approx(published_usd, rel=1e-9)
    assert row["error"] == pytest.approx(measured_error, abs=0.005)


def test_nvidia_2023_units_match_techinsights_3_76_million():
    ship = fleet.shipments_table()
    nvidia_2023 = ship[(ship["vendor"] == "NVIDIA") & (ship["year"] == 2023)]
    assert nvidia_2023["shipments_units"].sum() == pytest.approx(3.76e6, rel=1e-9)
    nvidia_2022 = ship[(ship["vendor"] == "NVIDIA") & (ship["year"] == 2022)]
    assert nvidia_2022["shipments_units"].sum() == pytest.approx(2.64e6, rel=1e-9)


def test_amd_2024_instinct_revenue_above_5_billion(checks):
    # AMD Q4 2024 earnings: data-centre GPU revenue exceeded USD 5 billion in 2024.
    assert _check(checks, "revenue", "AMD", 2024)["implied"] == pytest.approx(5.0e9, rel=0.01)


def test_installed_nvidia_compute_end_2024_against_epoch_ai(checks):
    # Epoch AI (13 Feb 2025): ~4e21 FLOP/s across NVIDIA data-centre GPUs (depreciated), Hopper
    # 77% of it. The planner counts every unit in service at full peak: +43% (band -20..+50%),
    # Hopper alone +11%. The fleet the issue rejected implied ~9e21 (2.3x).
    total = _check(checks, "installed compute", "nvidia", 2024)
    assert total["implied"] == pytest.approx(5.74e21, rel=0.01)
    assert total["error"] == pytest.approx(0.434, abs=0.01)
    assert (total["low"], total["high"]) == (-0.20, 0.50)
    hopper = _check(checks, "installed compute", "nvidia-hopper", 2024)
    assert hopper["error"] == pytest.approx(0.108, abs=0.01)


def test_2_9_million_h100_in_2023_would_be_twice_nvidias_gpu_revenue():
    # 2.9 million H100 counted in 2023 at the ~USD 25,000 ASP (Raymond James: USD
    # 25,000-30,000) is USD 72.5 billion, twice TechInsights' USD 36.2 billion for all 3.76
    # million NVIDIA data-centre GPUs.
    assert 2.9e6 * 25_000 / 36.2e9 == pytest.approx(2.0, rel=0.01)


def _copy_fleet(tmp_path: Path) -> Path:
    folder = tmp_path / "fleet"
    shutil.copytree(FLEET, folder)
    return folder


def test_the_rejected_fleet_fails_loudly(tmp_path):
    # 2.9 million Hopper in 2023 (the old IEA file's count) breaks the revenue check.
    folder = _copy_fleet(tmp_path)
    path = folder / "shipments.csv"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("2023,nvidia-hopper,1000000", "2023,nvidia-hopper,2900000"))
    data = fleet.load_fleet(folder)
    with pytest.raises(fleet.ReconciliationError) as info:
        fleet.reconcile(data)
    message = str(info.value)
    assert "NVIDIA 2023" in message and "+15%" in message and "published 3.62e+10" in message
    assert len(message.splitlines()) == 1
    table = fleet.reconcile(data, strict=False)  # the report still shows every check
    assert not table["within"].all()
    with pytest.raises(fleet.ReconciliationError):  # and no TWh come out of that fleet
        fleet.ai_demand([2024], fleet=data)


def test_a_bad_row_names_the_file_row_and_column(tmp_path):
    folder = _copy_fleet(tmp_path)
    path = folder / "shipments.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1].replace("2018,nvidia-volta,200000", "2018,nvidia-volta,-5")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"shipments\.csv, row 2, column 'shipments_units'"):
        fleet.load_fleet(folder)


def test_every_fleet_row_has_a_source_and_marks_its_estimates():
    data = fleet.load_fleet()
    for table in (data.chips, data.shipments, data.revenue, data.compute, data.regions):
        assert table["source"].str.len().min() > 10
    custom = data.shipments[data.shipments["family"].isin(["google-tpu", "aws-trainium"])]
    assert (custom["kind"] == "analyst-estimate").all()
    assert custom["asp_usd"].isna().all()  # sold to no one: no revenue check, said so


# ------------------------------------------------------------------------------------------
# Power: average draw, annual PUE, training vs inference, regions
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demand() -> pd.DataFrame:
    return fleet.ai_demand(range(2020, 2031))


def _world(demand: pd.DataFrame, year: int) -> pd.Series:
    return demand[(demand["region"] == "World") & (demand["year"] == year)].iloc[0]


def test_ai_is_about_15_percent_of_data_centre_electricity_in_2024(demand):
    # 62.6 TWh of AI against IEA's 415 TWh for all data centres (the old fleet: ~21%).
    ai = _world(demand, 2024)["ai_twh"]
    assert ai == pytest.approx(62.6, rel=0.01)
    assert ai / 415 == pytest.approx(0.151, abs=0.005)


def test_training_is_two_fifths_of_ai_energy(demand):
    # Patterson et al. 2022: 2/5 of Google's ML energy was training; the time shares (0.28 /
    # 0.72) at the measured average loads (0.76 / 0.45) reproduce that split.
    row = _world(demand, 2024)
    assert row["training_twh"] + row["inference_twh"] == pytest.approx(row["ai_twh"])
    assert row["training_twh"] / row["ai_twh"] == pytest.approx(0.40, abs=0.01)


def test_accelerators_sit_in_hyperscale_halls_not_at_the_global_average_pue():
    # Segment-weighted annual PUE 1.202 (hyperscale 1.12, colocation 1.42, enterprise 1.56),
    # not Uptime's 1.56 industry average; average draw 0.537 of nameplate, not the peak.
    assert fleet.ai_annual_pue() == pytest.approx(1.202, abs=1e-9)
    assert fleet.effective_load_fraction()["fleet"] == pytest.approx(0.5368, abs=1e-9)


def test_regions_add_up_to_the_world_and_the_us_hosts_most_ai(demand):
    for year in (2020, 2024, 2030):
        rows = demand[(demand["year"] == year) & (demand["region"] != "World")]
        assert rows["ai_twh"].sum() == pytest.approx(_world(demand, year)["ai_twh"])
    us = demand[(demand["region"] == "US") & (demand["year"] == 2024)].iloc[0]
    assert us["ai_twh"] / _world(demand, 2024)["ai_twh"] == pytest.approx(0.648, abs=0.01)


def test_damped_trend_slows_and_holds_without_history():
    out = fleet.extend_shipments(np.array([1.0, 2.0, 4.0, 8.0, 0.0, 0.0, 0.0]), 4)
    growth = out[4:] / out[3:-1] - 1
    assert growth.tolist() == pytest.approx([0.5, 0.25, 0.125])
    assert fleet.extend_shipments(np.array([5.0, 0.0, 0.0]), 1).tolist() == [5.0, 5.0, 5.0]


def test_the_study_files_carry_the_reconciled_fleet():
    # iea-2025-base (world) and lbnl-2024 (US, trend variant) write the fleet as catalog chips
    # and power-equivalents; their AI electricity must equal planner.fleet's (within 0.5%).
    years = range(2024, 2031)
    world = fleet.ai_demand(years)
    iea = project(SCEN / "iea-2025-base.toml")
    for year in years:
        expected = world[(world["region"] == "World") & (world["year"] == year)]["ai_twh"].iloc[0]
        assert iea.value("ai_twh", "World", year) == pytest.approx(expected, rel=0.005)
    us = fleet.ai_demand(range(2023, 2029))
    lbnl = project(SCEN / "lbnl-2024.toml")
    for year in range(2023, 2029):
        expected = us[(us["region"] == "US") & (us["year"] == year)]["ai_twh"].iloc[0]
        assert lbnl.value("ai_twh", "US", year, "trend") == pytest.approx(expected, rel=0.005)


# ------------------------------------------------------------------------------------------
# National shares and predictions
# ------------------------------------------------------------------------------------------


def test_national_shares_cover_at_least_20_countries_with_sourced_totals():
    shares = fleet.national_shares().set_index("country")
    assert len(shares) >= 20
    assert (shares["source"].str.len() > 10).all()
    # Ireland CSO: 7,663 GWh in 2025 (23% of metered electricity) over the national table's
    # 31.7 TWh (its 2024 row, held flat: 24.2%); Netherlands CBS: 4.6% in 2024;
    # Singapore IMDA: ~7%; Belgium (BCG): 4%; US: Borderstep (May 2026) 200 TWh in 2025 of
    # EIA's 4,097 TWh, 4.9% (LBNL's 4.7% is for 2024: the latest figure counts).
    assert shares.loc["Ireland", "year"] == 2025
    assert shares.loc["Ireland", "share"] == pytest.approx(7.663 / 31.7, abs=0.001)
    assert shares.loc["Netherlands", "share"] == pytest.approx(0.046, abs=0.001)
    assert shares.loc["Singapore", "share"] == pytest.approx(0.07, abs=0.005)
    assert shares.loc["Belgium", "share"] == pytest.approx(0.04, abs=0.001)
    assert shares.loc["US", "share"] == pytest.approx(0.049, abs=0.001)
    assert shares.index[0] == "Ireland"  # the largest share


def test_a_prediction_never_reads_figures_after_its_cut_off():
    # No input is solved to hit a published total: changing every figure for years after the
    # cut-off leaves the prediction unchanged; the anchor year's figure moves it.
    pub = fleet.load_published()
    base = fleet.predict_total("US", [2024], last_data_year=2023, published=pub)
    later = pub.copy()
    later.loc[later["year"] > 2023, "data_centre_twh"] *= 3
    moved = fleet.predict_total("US", [2024], last_data_year=2023, published=later)
    assert moved["total_twh"].iloc[0] == base["total_twh"].iloc[0]
    anchored = pub.copy()
    anchored.loc[(anchored["region"] == "US") & (anchored["year"] == 2023), "data_centre_twh"] += 10
    shifted = fleet.predict_total("US", [2024], last_data_year=2023, published=anchored)
    # the anchor moves the level and the US trend measured up to it (LBNL 2018 -> 2023)
    assert shifted["total_twh"].iloc[0] > base["total_twh"].iloc[0] + 10


def test_training_inference_and_non_ai_are_separate_series():
    world = fleet.predict_total("World", [2024, 2030], last_data_year=2023).set_index("year")
    for year in (2024, 2030):
        row = world.loc[year]
        assert row["training_twh"] + row["inference_twh"] == pytest.approx(row["ai_twh"])
        assert row["ai_twh"] + row["non_ai_twh"] == pytest.approx(row["total_twh"])
    # Data up to 2023: anchored on IEA Electricity 2024's 350 TWh (2022), non-AI grown at the
    # world trend from Masanet 2018 to that anchor (12.8 %/yr, damped year by year ahead:
    # NON_AI_DAMPING), the fleet's AI on the damped trend after 2023: 462.2 TWh in 2024 (IEA
    # 2025: 415; undamped 476.0).
    assert world.loc[2024, "total_twh"] == pytest.approx(462.2, rel=0.005)
    ireland = fleet.predict_total("Ireland", [2030]).iloc[0]
    assert ireland["training_twh"] + ireland["inference_twh"] == pytest.approx(ireland["ai_twh"])


def test_us_2023_disagreement_is_explained_in_the_data():
    pub = fleet.load_published()
    us = pub[(pub["region"] == "US") & (pub["year"] == 2023)].set_index("study")
    assert us.loc["lbnl-2024", "data_centre_twh"] == 176
    assert us.loc["epri-2024", "data_centre_twh"] == 152.7
    assert "EPRI" in us.loc["lbnl-2024", "source"]
    assert fleet.anchor("US", 2023)["data_centre_twh"] == pytest.approx((176 + 152.7) / 2)


def test_national_outlook_predicts_every_country_with_a_published_total():
    # Ireland follows its own metered trend (CSO 2020-2025, +20.3 %/yr) from its 2025 figure,
    # damped year by year ahead (planner.fleet.NON_AI_DAMPING): 48% of national electricity by
    # 2030 (the national table held flat at 31.7 TWh; undamped 61%), still above EirGrid's and
    # the IEA's ~30%: no connection-power bound is modelled. Every country of the national
    # table is predicted, none is calibrated; a year before the anchor is the trend run
    # backwards, undamped (2024: 6.37 TWh against the CSO's 6,969 GWh).
    outlook = fleet.national_outlook([2024, 2025, 2030])
    assert outlook["country"].nunique() >= 20
    ie = outlook[(outlook["country"] == "Ireland")].set_index("year")
    assert ie.loc[2025, "total_twh"] == pytest.approx(7.663)
    assert ie.loc[2024, "total_twh"] == pytest.approx(7.663 / 1.2026, rel=0.005)
    assert ie.loc[2030, "share"] == pytest.approx(0.484, abs=0.01)
    assert np.allclose(outlook["total_twh"], outlook["ai_twh"] + outlook["non_ai_twh"])


def test_training_load_is_the_calibrated_cores_measured_average():
    # The power chain's measured training draw (data/measured_power.csv: Newkirk et al. 2025,
    # ~76% of nameplate for Hopper; Patterson et al. 2021: 75.4% for V100) is the fleet's
    # training load, so the fleet and the sizing core bill the same average watts.
    from planner.amortization import measured_load_fraction

    training = fleet.effective_load_fraction()["training"]
    assert training == measured_load_fraction("h100")[0]
    assert training == pytest.approx(measured_load_fraction("v100")[0], abs=0.01)


def test_non_ai_growth_comes_from_the_regions_own_figures_up_to_the_cut_off():
    pub = fleet.load_published()
    ai = fleet.ai_demand(range(2010, 2026))
    # US, data up to 2021: LBNL 2024's own 2014 -> 2018 series (one study, one method)
    us = fleet.growth_from_data("US", 2021, pub, ai)
    assert us["from"] == "lbnl-2024 (2014) to lbnl-2024 (2018)"
    assert us["growth_pct_per_year"] == pytest.approx(((76 - 0) / 58) ** 0.25 * 100 - 100, abs=0.5)
    # Ireland: its metered CSO totals, 2015 -> 2023 (8 years)
    ie = fleet.growth_from_data("Ireland", 2023, pub)
    assert ie["growth_pct_per_year"] == pytest.approx(((6.334 / 1.264) ** (1 / 8) - 1) * 100)
    # figures after the cut-off are never read
    later = pub.copy()
    later.loc[later["year"] > 2021, "data_centre_twh"] *= 5
    assert fleet.growth_from_data("US", 2021, later, ai) == us
    # China's own two figures (Greenpeace/NCEPU 2018, SGERI 2020: both the wide definition)
    rate, where = fleet.non_ai_growth_pct("China", 2023, pub, ai)
    assert where == "China trend, greenpeace-ncepu-2019 (2018) to sgeri-2021 (2020)"
    # non-AI growth: the AI fleet's demand of each year is taken out of both totals first, so
    # less than the totals' own (200 / 161) ** 0.5 - 1 = 11.5%/yr
    assert rate == pytest.approx(11.05, abs=0.01) and rate < ((200 / 161) ** 0.5 - 1) * 100
    # no history of two figures: the World's trend, else Masanet's flat world rate
    rate, where = fleet.non_ai_growth_pct("Europe", 2023, pub, ai)
    assert where.startswith("World trend")
    rate, where = fleet.non_ai_growth_pct("China", 2019, pub, ai)
    assert rate == fleet.NON_AI_GROWTH_PCT and "Masanet" in where


def test_growth_from_data_is_bounded():
    pub = fleet.load_published()
    steep = pub.copy()
    steep.loc[(steep["region"] == "Netherlands") & (steep["year"] == 2017), "data_centre_twh"] = 0.1
    g = fleet.growth_from_data("Netherlands", 2021, steep)
    assert g["growth_pct_per_year"] == fleet.GROWTH_FROM_DATA_RANGE_PCT[1]


def test_trend_factor_damps_each_year_ahead():
    assert fleet.trend_factor(10.0, [0, 1, 2], damping=1.0) == pytest.approx([1, 1.1, 1.21])
    assert fleet.trend_factor(10.0, [2], damping=0.5) == pytest.approx([1.05 * 1.025])
    assert fleet.trend_factor(10.0, [-1], damping=0.5) == pytest.approx([1 / 1.1])
    # the default: NON_AI_DAMPING, inside the range Hyndman & Athanasopoulos allow
    lo, hi = fleet.NON_AI_DAMPING_RANGE
    assert (lo, hi) == (0.8, 0.98) and lo <= fleet.NON_AI_DAMPING <= hi
    phi = fleet.NON_AI_DAMPING
    assert fleet.trend_factor(10.0, [3]) == pytest.approx(
        [(1 + 0.1 * phi) * (1 + 0.1 * phi**2) * (1 + 0.1 * phi**3)]
    )


def test_lbnl_high_case_is_the_supply_bound_path():
    # The LBNL high variant's US shipments after 2024 grow with CoWoS packaging capacity
    # (data/fleet/supply.csv): 2.49 million b200 power-equivalents in 2024 (the low variant's
    # held level) x 2.0 (2025) x 1.48 (2026) x 1.26 x 1.26.
    from planner.projection_scenarios import load_scenario

    path = fleet.supply_bound_shipments(2.49e6, 2024, 2028)
    high = load_scenario(SCEN / "lbnl-2024.toml").variants["high"].ai.fleet["future"]
    for year, units in path.items():
        assert high.shipments[year] == pytest.approx(units, rel=0.001)
    assert (fleet.load_supply()["source"].str.len() > 20).all()
    with pytest.raises(InputError, match="last_year"):
        fleet.supply_bound_shipments(1.0, 2024, 2031)


def test_a_published_figure_of_an_unknown_definition_is_rejected_naming_it(tmp_path):
    from planner._paths import data_dir
    from planner.errors import CatalogError

    lines = (data_dir() / "countries" / "data_centres.csv").read_text().splitlines()
    assert ",own," in lines[1]
    lines[1] = lines[1].replace(",own,", ",wider,", 1)
    bad = tmp_path / "data_centres.csv"
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(CatalogError, match="row 2, column 'definition': 'wider' is not allowed"):
        fleet.load_published(bad)


def test_a_definition_key_is_the_family_or_the_study_itself():
    pub = fleet.load_published()
    keys = dict(zip(pub["study"], fleet.definition_keys(pub), strict=True))
    assert keys["cso-2022"] == keys["cso-2025"] == keys["cso-2026"] == "metered"
    assert keys["bitkom-2023"] == keys["borderstep-2020"] == "borderstep"
    assert keys["borderstep-2020-cliditrans"] == "borderstep"
    assert keys["iea-electricity-2024"] == keys["iea-energy-ai-2025"] == "iea-ai"
    assert keys["iea-key-questions-2026"] == "iea-ai"
    assert keys["iea-tracking-2023"] == "iea-tracking"
    assert keys["sgeri-2021"] == "sgeri-2021"
    # LBNL's 2024 report and its 2025 Update: one model; LBNL 2016 (revised by it): its own
    assert keys["lbnl-2024"] == keys["lbnl-2026"] == "lbnl-2024-model"
    assert keys["lbnl-2016"] == "lbnl-2016"
    # a table without the column: every study its own definition
    assert list(fleet.definition_keys(pub.drop(columns="definition"))) == list(pub["study"])


def test_a_prediction_of_a_definition_uses_only_that_definitions_anchor():
    # China at 2023: SGERI's 200 TWh for 2020 is the latest figure of any definition; there is
    # no IEA figure for China up to 2023, so an IEA-definition prediction has no anchor.
    pub = fleet.load_published()
    pub = pub[pub["published_year"] <= 2024]
    assert fleet.anchor("China", 2023, pub)["study"] == "sgeri-2021"
    assert fleet.anchor("China", 2023, pub, "iea-ai") is None
    assert fleet.predict_total(
        "China", [2024], last_data_year=2023, published=pub, definition="iea-ai"
    ).empty
    us = fleet.anchor("US", 2023, pub, "iea-ai")
    assert (us["study"], us["year"], us["definition"]) == ("iea-electricity-2024", 2022, "iea-ai")
