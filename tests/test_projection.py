"""Projection of national and global data-centre / AI electricity (issue 4).

Reproductions state the source and the tolerance; the published figures are written here
again on purpose (not read from the scenario files), so a scenario edit cannot quietly move
the target. Where a scenario is calibrated to land on a study's total, the file says how.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from planner import quantities
from planner.cli import main
from planner.errors import CatalogError, InputError, PlannerError
from planner.projection import (
    installed_base,
    national_electricity_twh,
    project,
    reference_run,
    survival_weights,
)
from planner.projection_scenarios import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "data" / "projections"


@pytest.fixture(scope="module")
def de_vries():
    return project(SCEN / "de-vries-2023.toml")


@pytest.fixture(scope="module")
def iea2025():
    return project(SCEN / "iea-2025-base.toml")


@pytest.fixture(scope="module")
def iea2025_cal():
    return project(SCEN / "iea-2025-base.toml", calibrate_to="iea-2025-base")


@pytest.fixture(scope="module")
def lbnl():
    return project(SCEN / "lbnl-2024.toml")


@pytest.fixture(scope="module")
def lbnl_cal():
    return project(SCEN / "lbnl-2024.toml", calibrate_to="lbnl-2024")


@pytest.fixture(scope="module")
def iea2024():
    return project(SCEN / "iea-electricity-2024.toml")


@pytest.fixture(scope="module")
def iea2024_cal():
    return project(SCEN / "iea-electricity-2024.toml", calibrate_to="iea-electricity-2024")


def small_scenario(**changes) -> dict:
    """A minimal valid scenario: one chip generation, a PUE, two regions."""
    raw = {
        "name": "test",
        "title": "test scenario",
        "source": "unit test",
        "calibration": "none",
        "years": "2024:2027",
        "scope": "World",
        "ai": {
            "lifetime_years": 4,
            "load_factor": 0.6,
            "fleet": {
                "h100": {
                    "accelerator": "h100",
                    "shipments": {"2023": 1e6, "2024": 2e6},
                    "growth_pct_per_year": 10.0,
                    "source": "test",
                }
            },
        },
        "pue": {"2024": 1.3},
        "non_ai": {
            "rest": {
                "basis": "it",
                "base_year": 2024,
                "twh": 100.0,
                "growth_pct_per_year": 5.0,
                "source": "test",
            }
        },
        "regions": {"2024": {"US": 0.6, "Rest of world": 0.4}},
        "electricity": {"definition": "consumption", "growth_pct_per_year": 2.0, "source": "test"},
    }
    for path, value in changes.items():
        node = raw
        keys = path.split(".")
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return raw


def run_small(samples: int = 0, seed: int | None = 0, **changes):
    return project(parse_scenario(small_scenario(**changes)), samples=samples, seed=seed)


# ------------------------------------------------------------------------------------------
# Reproductions
# ------------------------------------------------------------------------------------------


def test_de_vries_15m_dgx_a100_servers_draw_85_4_twh(de_vries):
    # de Vries, Joule 7(10) 2023: 1.5M NVIDIA AI servers/yr, full rated power, 8,760 h, no
    # PUE: DGX A100 (6.5 kW) -> 85.4 TWh (within 0.5%).
    assert de_vries.value("total_twh", "World", 2027, "a100") == pytest.approx(85.4, rel=0.005)


def test_de_vries_15m_dgx_h100_servers_draw_134_twh(de_vries):
    # de Vries 2023: DGX H100 (10.2 kW) -> 134.0 TWh (within 0.5%).
    assert de_vries.value("total_twh", "World", 2027, "h100") == pytest.approx(134.0, rel=0.005)


def test_de_vries_uses_catalog_server_power_and_no_pue(de_vries):
    # 1.5M x 8 GPUs in service, average GW = nameplate (load 1, PUE 1): 1.5M x 6.5 kW = 9.75 GW.
    assert de_vries.value("ai_accelerators_in_service", "World", 2027, "a100") == 12_000_000
    assert de_vries.value("total_gw", "World", 2027, "a100") == pytest.approx(9.75, rel=1e-9)
    assert de_vries.value("pue", "World", 2027, "h100") == 1.0


# Study reproductions, two ways (issue 11). PREDICTED: the files' own sourced inputs, nothing
# solved; the errors below are what the model measured (December 2026) and are asserted to
# +-1 percentage point so a regression fails. CALIBRATED: --calibrate-to STUDY solves the
# non-AI level and growth at run time, so those totals hold by construction (tolerance 1e-6);
# they test the solver, not the model.


@pytest.mark.parametrize(
    ("country", "year", "published_twh", "measured_error"),
    [
        ("World", 2024, 415, +0.021),
        ("World", 2030, 945, -0.070),
        ("US", 2024, 183, +0.107),
        ("US", 2030, 426, +0.168),
        ("China", 2024, 102, -0.040),
        ("China", 2030, 277, -0.281),
    ],
)
def test_iea_energy_and_ai_2025_predicted_errors(
    iea2025, country, year, published_twh, measured_error
):
    # IEA, Energy and AI (2025), Base Case: world 415 -> ~945 TWh, US 183 -> 426, China
    # 102 -> 277. Uncalibrated: the reconciled fleet plus a non-AI load anchored on IEA
    # Electricity 2024's 2022 figure, grown at the world's measured 2010-2022 trend (4.54
    # %/yr; before: Masanet's flat 0.73 %/yr gave World 2030 -19.8%, China 2030 -40.9%); the
    # regional non-AI split is the IEA's own.
    error = iea2025.value("total_twh", country, year) / published_twh - 1
    assert error == pytest.approx(measured_error, abs=0.01)


@pytest.mark.parametrize(
    ("country", "year", "published_twh"), [("World", 2024, 415), ("World", 2030, 945)]
)
def test_iea_2025_calibrated_lands_on_the_world_totals_by_construction(
    iea2025_cal, country, year, published_twh
):
    assert iea2025_cal.value("total_twh", country, year) == pytest.approx(published_twh, rel=1e-6)
    # What had to be solved: the 2022 non-AI level drops from the file's 330.4 TWh to ~306 and
    # its growth rises from Masanet's 0.73 %/yr to ~7.3 %/yr (the IEA's conventional load grows
    # ~9 %/yr); the calibrated inputs say so, with the values.
    solved = {r["name"]: r["value"] for r in iea2025_cal.inputs}
    assert solved["non_ai.conventional.twh"] == pytest.approx(306.2, rel=0.01)
    assert solved["non_ai.conventional.growth_pct_per_year"] == pytest.approx(7.3, abs=0.2)


def test_iea_2025_world_is_about_1_5_percent_of_global_consumption(iea2025, iea2025_cal):
    # IEA Energy and AI: 415 TWh is 'around 1.5%' of global electricity consumption in 2024
    # (the prediction: 1.3-1.7%) and ~945 TWh 'just under 3%' in 2030 (calibrated: 2.5-3.0%).
    assert 0.013 <= iea2025.value("total_share", "World", 2024) <= 0.017
    assert 0.025 <= iea2025_cal.value("total_share", "World", 2030) <= 0.030


def test_iea_2025_regions_sum_to_world(iea2025):
    f = iea2025.frame
    for year in (2024, 2027, 2030):
        rows = f[(f["year"] == year) & (f["country"] != "World")]
        assert rows["total_twh"].sum() == pytest.approx(iea2025.value("total_twh", "World", year))


def test_iea_2025_ai_is_split_by_deployment_not_by_the_studys_shares(iea2025):
    # Pilz et al. 2025 / Epoch AI: US ~75%, China ~15% of AI supercomputer performance; the
    # file's ai_regions (US 0.70 in 2024) differ from IEA's data-centre shares (US 0.44).
    us = iea2025.value("ai_twh", "US", 2024) / iea2025.value("ai_twh", "World", 2024)
    assert us == pytest.approx(0.70, abs=0.01)
    assert not any("no `ai_regions` table" in n for n in iea2025.notes)


@pytest.mark.parametrize(
    ("variant", "year", "twh", "share"),
    [
        ("low", 2023, 176, 0.044),
        ("high", 2023, 176, 0.044),
        ("low", 2028, 325, 0.067),
        ("high", 2028, 580, 0.12),
    ],
)
def test_lbnl_2024_calibrated_lands_on_176_and_325_580_by_construction(
    lbnl_cal, variant, year, twh, share
):
    # LBNL 2024 US Data Center Energy Usage Report (Shehabi et al., Dec 2024): 176 TWh in
    # 2023 (4.4% of US electricity), 325-580 TWh in 2028 (6.7-12%): exact by construction for
    # TWh, shares within 10% (LBNL's own rounded denominators).
    assert lbnl_cal.value("total_twh", "US", year, variant) == pytest.approx(twh, rel=1e-6)
    assert lbnl_cal.value("total_share", "US", year, variant) == pytest.approx(share, rel=0.10)


@pytest.mark.parametrize(
    ("variant", "year", "twh", "measured_error"),
    [
        ("low", 2023, 176, -0.132),
        ("high", 2023, 176, -0.132),
        ("low", 2028, 325, +0.072),
        ("high", 2028, 580, -0.039),
    ],
)
def test_lbnl_2024_predicted_errors(lbnl, variant, year, twh, measured_error):
    # Uncalibrated: the non-AI load is anchored on EPRI's 152.7 TWh for 2023 (so 2023 shows
    # the 13% gap between the two studies), grown at the US measured trend (9.56 %/yr);
    # 2028 low = US AI shipments held at 2024, high = shipments growing with CoWoS packaging
    # capacity (before: 0.73 %/yr and the damped trend gave -14.7% and -40.9%).
    error = lbnl.value("total_twh", "US", year, variant) / twh - 1
    assert error == pytest.approx(measured_error, abs=0.01)


def test_lbnl_2028_average_power_is_half_of_lbnls_74_to_132_gw_capacity(lbnl_cal):
    # LBNL 2024 quotes 74-132 GW of data-centre *capacity* for 325-580 TWh; the planner's
    # *average* GW (TWh / 8,760 h) is about half of that (LBNL's implied ~50% utilisation of
    # capacity), within 10%.
    assert lbnl_cal.value("total_gw", "US", 2028, "low") / 74 == pytest.approx(0.5, rel=0.10)
    assert lbnl_cal.value("total_gw", "US", 2028, "high") / 132 == pytest.approx(0.5, rel=0.10)


@pytest.mark.parametrize(
    ("variant", "year", "twh"),
    [
        ("low", 2022, 460),
        ("base", 2022, 460),
        ("high", 2022, 460),
        ("low", 2026, 620),
        ("base", 2026, 800),
        ("high", 2026, 1050),
    ],
)
def test_iea_electricity_2024_calibrated_by_construction(iea2024_cal, variant, year, twh):
    # IEA Electricity 2024, p. 31: 460 TWh in 2022; 620-1,050 TWh in 2026, base just over 800.
    assert iea2024_cal.value("total_twh", "World", year, variant) == pytest.approx(twh, rel=1e-6)


@pytest.mark.parametrize(
    ("variant", "year", "twh", "measured_error"),
    [
        ("base", 2022, 460, -0.263),
        ("low", 2026, 620, -0.306),
        ("base", 2026, 800, -0.292),
        ("high", 2026, 1050, -0.335),
    ],
)
def test_iea_electricity_2024_predicted_errors(iea2024, variant, year, twh, measured_error):
    # Uncalibrated: Masanet et al. 2020's 205 TWh (2018) for traditional data centres, grown at
    # the world's measured 2010-2022 trend (2.8 %/yr; before: 0.73 gave -30.2% in 2022), is
    # narrower than IEA's 2022 total without crypto; the model reports that gap, not hides it.
    error = iea2024.value("total_twh", "World", year, variant) / twh - 1
    assert error == pytest.approx(measured_error, abs=0.01)


def test_iea_electricity_2024_is_almost_2_percent_of_world_demand(iea2024_cal):
    # IEA Electricity 2024: 460 TWh is 'almost 2%' of global electricity demand (1.7-2.0%).
    assert 0.017 <= iea2024_cal.value("total_share", "World", 2022, "base") <= 0.020


def test_reference_runs_are_ai_energy_over_one_gtc_run(de_vries):
    # GTC 2024 hopper preset (planner.presets): ~20,700 MWh per 90-day run at the measured
    # Hopper training draw (76% of nameplate, data/measured_power.csv) and the ANNUAL PUE of
    # a hyperscale air hall, 1.20 (data/facility.csv hyperscale-air; energy never uses the
    # design-day PUE), with goodput from the failure model (0.949 at 7,480 H100) and its hot
    # spares at idle draw. At the former flat goodput 0.90 it was 21,784 MWh.
    run = reference_run("gtc2024-hopper")
    assert run.energy_mwh == pytest.approx(20_746, rel=0.02)
    runs = de_vries.value("reference_runs_per_year", "World", 2027, "a100")
    assert runs == pytest.approx(85.41e6 / run.energy_mwh, rel=1e-9)


def test_share_uses_the_studys_own_denominator():
    # LBNL's implied 2028 total (4,840 TWh) is used only by the LBNL scenario.
    lbnl_2028 = national_electricity_twh("US", [2028], "consumption", 1.0, "lbnl-2024")[0]
    other_2028 = national_electricity_twh("US", [2028], "consumption", 1.0)[0]
    assert lbnl_2028 == 4840
    assert other_2028 == pytest.approx(4097 * 1.01**4)
    assert national_electricity_twh("US", [2023], "generation")[0] == 4178


def test_compute_driven_power_follows_flops_over_efficiency():
    raw = small_scenario()
    raw["ai"]["compute"] = {
        "base_year": 2025,
        "flops_growth_pct_per_year": 50.0,
        "efficiency_gain_pct_per_year": 25.0,
        "source": "test",
    }
    r = project(parse_scenario(raw))
    a25, a27 = r.value("ai_twh", "World", 2025), r.value("ai_twh", "World", 2027)
    assert a27 / a25 == pytest.approx((1.5 / 1.25) ** 2, rel=1e-9)


def test_compute_driven_needs_no_fleet_with_a_base_power():
    raw = small_scenario()
    raw["ai"]["fleet"] = {}
    raw["ai"]["compute"] = {
        "base_year": 2024,
        "base_it_power_gw": 10.0,
        "flops_growth_pct_per_year": 0.0,
        "efficiency_gain_pct_per_year": 0.0,
        "source": "test",
    }
    r = project(parse_scenario(raw))
    assert r.value("ai_twh", "World", 2026) == pytest.approx(10 * 1.3 * 8.76)


# ------------------------------------------------------------------------------------------
# Installed base and properties
# ------------------------------------------------------------------------------------------


def test_installed_base_counts_the_last_l_years_of_shipments():
    ship = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert installed_base(ship, 2).tolist() == [1, 3, 5, 7, 9]
    assert installed_base(ship, 1).tolist() == ship.tolist()
    assert installed_base(ship, 2.5).tolist() == [1, 3, 5.5, 8.0, 10.5]
    # Installed mid-year: half of the shipment year and half of the next (one unit-year).
    assert installed_base(ship, 1, 0.5).tolist() == [0.5, 1.5, 2.5, 3.5, 4.5]


def test_installed_base_vectorises_over_lifetime_samples():
    ship = np.array([1.0, 1.0, 1.0, 1.0])
    out = installed_base(ship, np.array([1.0, 2.0, 4.0]))
    assert out.shape == (3, 4)
    assert out[:, -1].tolist() == [1, 2, 4]


@settings(max_examples=40, deadline=None)
@given(
    ship=st.lists(st.floats(0, 1e7), min_size=3, max_size=12),
    l1=st.floats(1, 15),
    extra=st.floats(0, 10),
    first=st.floats(0, 1),
)
def test_longer_lifetime_never_lowers_the_installed_base(ship, l1, extra, first):
    a = installed_base(ship, l1, first)
    b = installed_base(ship, l1 + extra, first)
    assert np.all(b >= a - 1e-6 * (1 + np.abs(a)))


@settings(max_examples=40, deadline=None)
@given(l1=st.floats(1, 15), extra=st.floats(0, 10))
def test_survival_weights_are_fractions_growing_with_lifetime(l1, extra):
    w1, w2 = survival_weights(l1, 20), survival_weights(l1 + extra, 20)
    assert np.all((w1 >= 0) & (w1 <= 1)) and np.all(w2 >= w1)


@settings(max_examples=15, deadline=None)
@given(base=st.floats(1e4, 5e6), more=st.floats(0, 5e6))
def test_more_shipments_never_lower_demand(base, more):
    lo = run_small(**{"ai.fleet.h100.shipments": {"2023": base, "2024": base}})
    hi = run_small(**{"ai.fleet.h100.shipments": {"2023": base + more, "2024": base}})
    assert np.all(hi.frame["total_twh"].to_numpy() >= lo.frame["total_twh"].to_numpy() - 1e-9)


@settings(max_examples=15, deadline=None)
@given(pue=st.floats(1.0, 2.5), more=st.floats(0, 0.5))
def test_higher_pue_never_lowers_demand(pue, more):
    lo = run_small(pue={"2024": pue})
    hi = run_small(pue={"2024": pue + more})
    assert np.all(hi.frame["total_twh"].to_numpy() >= lo.frame["total_twh"].to_numpy() - 1e-9)


def test_monte_carlo_bands_are_ordered_and_bracket_the_central_value(iea2025):
    r = project(SCEN / "iea-2025-base.toml", samples=2000, seed=7)
    f = r.frame
    for q in ("total_twh", "ai_twh", "total_gw", "total_share", "reference_runs_per_year"):
        assert np.all(f[f"{q}_p10"] <= f[f"{q}_p50"]) and np.all(f[f"{q}_p50"] <= f[f"{q}_p90"])
    world_2030 = f[(f["country"] == "World") & (f["year"] == 2030)].iloc[0]
    assert world_2030["total_twh_p10"] < world_2030["total_twh"] < world_2030["total_twh_p90"]
    assert world_2030["total_twh_p90"] > world_2030["total_twh_p10"] * 1.1  # a real band


def test_seeded_monte_carlo_is_reproducible():
    a = project(SCEN / "lbnl-2024.toml", samples=500, seed=3).frame
    b = project(SCEN / "lbnl-2024.toml", samples=500, seed=3).frame
    c = project(SCEN / "lbnl-2024.toml", samples=500, seed=4, error_band=False).frame
    assert a.equals(b)
    d = project(SCEN / "lbnl-2024.toml", samples=500, seed=3, error_band=False).frame
    assert not np.allclose(d["total_twh_p90"], c["total_twh_p90"])


# ------------------------------------------------------------------------------------------
# Result object
# ------------------------------------------------------------------------------------------


def test_result_frame_is_tidy_with_units_in_column_names(iea2025):
    f = iea2025.to_frame()
    assert list(f.columns[:3]) == ["variant", "country", "year"]
    for col in ("total_twh", "ai_twh", "non_ai_twh", "total_gw", "total_share", "electricity_twh"):
        assert col in f.columns
    assert len(f) == 7 * 6  # 2024..2030 x (5 regions + World)


def test_to_dict_is_json_ready(lbnl):
    d = lbnl.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert "rows" in d and "inputs" in d and "published" in d and "reference_run" in d
    assert json.loads(text)["variants"] == ["low", "trend", "high"]
    assert all(row["source"] for row in d["inputs"] if not row["name"].startswith("electricity"))


def test_years_option_extends_the_projection():
    r = project(SCEN / "iea-2025-base.toml", years="2024:2035")
    assert sorted(set(r.frame["year"])) == list(range(2024, 2036))
    assert r.value("total_twh", "World", 2035) > r.value("total_twh", "World", 2030)


def test_country_filter_is_case_insensitive():
    r = project(SCEN / "iea-2025-base.toml", countries=["china"])
    assert set(r.frame["country"]) == {"China"}


# ------------------------------------------------------------------------------------------
# Bad input names the field
# ------------------------------------------------------------------------------------------


def test_shares_not_summing_to_one_name_the_year():
    with pytest.raises(InputError, match=r"regions\[2024\].*summing to 1"):
        run_small(regions={"2024": {"US": 0.6, "Rest of world": 0.5}})


def test_unknown_country_is_listed():
    with pytest.raises(InputError, match=r"regions\[2024\]\.Atlantis.*one of: .*China"):
        run_small(regions={"2024": {"Atlantis": 1.0}})
    with pytest.raises(InputError, match="country = 'Mars'"):
        project(SCEN / "lbnl-2024.toml", countries=["Mars"])


def test_years_out_of_order_are_rejected():
    with pytest.raises(CatalogError, match="field 'years': '2030:2024' is not allowed"):
        run_small(years="2030:2024")
    with pytest.raises(InputError, match="years out of order"):
        project(SCEN / "lbnl-2024.toml", years="2028:2023")
    with pytest.raises(InputError, match=r"pue = 2024.*strictly increasing"):
        run_small(pue={"2030": 1.3, "2024": 1.4})


def test_growth_that_would_make_power_negative_is_rejected():
    with pytest.raises(InputError, match=r"ai\.fleet\.h100\.growth_pct_per_year.*> -100"):
        run_small(**{"ai.fleet.h100.growth_pct_per_year": -120.0})
    with pytest.raises(InputError, match=r"non_ai\.rest\.growth_pct_per_year"):
        run_small(**{"non_ai.rest.growth_pct_per_year": {"low": -150.0, "high": 5.0}})


def test_unknown_chip_and_unknown_key_name_the_field(tmp_path):
    with pytest.raises(InputError, match=r"ai\.fleet\.h100\.accelerator = 'h999'"):
        run_small(**{"ai.fleet.h100.accelerator": "h999"})
    raw = small_scenario()
    raw["ai"]["lifetime_yrs"] = 5
    with pytest.raises(CatalogError, match="lifetime_yrs"):
        parse_scenario(raw)


def test_pue_below_one_and_load_above_one_are_rejected():
    with pytest.raises(InputError, match=r"pue\[2024\]"):
        run_small(pue={"2024": 0.9})
    with pytest.raises(InputError, match="ai.load_factor"):
        run_small(**{"ai.load_factor": 1.2})


def test_a_published_figure_for_an_unknown_variant_is_bad_input_naming_the_variants():
    raw = small_scenario()
    raw["variants"] = {"low": {}, "high": {}}
    raw["published"] = [
        {"country": "US", "year": 2024, "quantity": "total_twh", "value": 100, "variant": "mid"}
    ]
    with pytest.raises(
        CatalogError,
        match=r"x\.toml, field 'published\[0\]\.variant': 'mid' is not allowed: expected one "
        r"of the file's variants: low, high",
    ):
        parse_scenario(raw, "x.toml")


def test_cli_exits_2_on_a_published_figure_for_an_unknown_variant(tmp_path, capsys):
    text = (SCEN / "lbnl-2024.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(
        text + '\n[[published]]\ncountry = "US"\nyear = 2028\nquantity = "total_twh"\n'
        'value = 300\nvariant = "nosuch"\nnote = "x"\n'
    )
    assert main(["project", str(bad), "--samples", "50"]) == 2
    err = capsys.readouterr().err
    assert "'nosuch' is not allowed" in err and len(err.strip().splitlines()) == 1


def test_variant_overrides_merge_into_the_shared_body():
    raw = small_scenario()
    raw["variants"] = {"a": {}, "b": {"pue": {"2024": 1.6}}}
    sc = parse_scenario(copy.deepcopy(raw))
    assert sc.variants["a"].pue[2024] == 1.3 and sc.variants["b"].pue[2024] == 1.6
    assert sc.variants["b"].ai.lifetime_years == 4


def test_every_shipped_scenario_loads_and_cites_sources():
    for path in sorted(SCEN.glob("*.toml")):
        sc = load_scenario(path)
        for spec in sc.variants.values():
            assert spec.source and spec.calibration
            if spec.ai is not None:
                assert all(e.source for e in spec.ai.fleet.values())


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def test_cli_project_prints_tables(capsys):
    assert main(["project", str(SCEN / "iea-2025-base.toml"), "--samples", "200"]) == 0
    out = capsys.readouterr().out
    assert "China" in out and "P10-P90" in out and "Published vs model" in out


def test_cli_project_json_for_one_country(capsys):
    code = main(
        [
            "project",
            str(SCEN / "lbnl-2024.toml"),
            "--country",
            "US",
            "--json",
            "--samples",
            "300",
            "--seed",
            "1",
        ]
    )
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    assert {"scenario", "rows", "inputs", "published", "samples", "seed", "reference_run"} <= set(d)
    assert {r["country"] for r in d["rows"]} == {"US"}
    assert {"total_twh", "total_gw", "total_share", "total_twh_p10", "total_twh_p90"} <= set(
        d["rows"][0]
    )


def test_cli_years_option(capsys):
    assert (
        main(
            [
                "project",
                str(SCEN / "de-vries-2023.toml"),
                "--years",
                "2027:2027",
                "--samples",
                "0",
                "--json",
            ]
        )
        == 0
    )
    d = json.loads(capsys.readouterr().out)
    assert d["years"] == [2027, 2027] and d["samples"] == 0


@pytest.mark.parametrize(
    ("text", "needle"),
    [("not = [valid", "not valid TOML"), ("name = 'x'\nbogus = 1\n", "bogus"), ("", "title")],
)
def test_cli_exits_2_with_one_line_for_bad_files(tmp_path, capsys, text, needle):
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    assert main(["project", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("planner: error:") and needle in err
    assert len(err.strip().splitlines()) == 1


def test_cli_exits_2_for_missing_file_and_bad_years(capsys):
    assert main(["project", "no/such/file.toml"]) == 2
    assert main(["project", str(SCEN / "lbnl-2024.toml"), "--years", "2030:2020"]) == 2
    assert main(["project", str(SCEN / "lbnl-2024.toml"), "--country", "Narnia"]) == 2
    err = capsys.readouterr().err
    assert "not found" in err and "years" in err and "Narnia" in err


def test_errors_are_planner_errors():
    assert issubclass(InputError, PlannerError) and issubclass(CatalogError, PlannerError)


# ------------------------------------------------------------------------------------------
# Regression tests for the 2025 review (/tmp/review/findings.md), one block per finding
# ------------------------------------------------------------------------------------------


def _compute(raw: dict, **compute) -> dict:
    raw["ai"]["compute"] = {
        "flops_growth_pct_per_year": 50.0,
        "efficiency_gain_pct_per_year": 30.0,
        "source": "test",
    } | compute
    return raw


def test_finding5_compute_base_year_after_the_output_years_keeps_the_fleet():
    # Review finding 5: base_year 2040 with base_it_power_gw and a fleet raised IndexError.
    # The compute-driven growth starts after the output years, so the fleet drives them all.
    raw = _compute(small_scenario(), base_year=2040, base_it_power_gw=10.0)
    driven = project(parse_scenario(raw)).frame
    fleet_only = run_small().frame
    assert np.allclose(driven["ai_twh"], fleet_only["ai_twh"])
    # Without a base power the fleet's own power in base_year is used, also past the output.
    raw = _compute(small_scenario(), base_year=2040)
    assert np.allclose(project(parse_scenario(raw)).frame["ai_twh"], fleet_only["ai_twh"])


def test_finding5_compute_base_year_before_any_shipment_is_rejected():
    raw = _compute(small_scenario(), base_year=2020)  # fleet ships from 2023: zero power
    with pytest.raises(InputError, match=r"ai\.compute\.base_year = 2020.*2023\.\.2060"):
        project(parse_scenario(raw))


def test_finding6_mid_year_install_serves_the_full_lifetime():
    # A unit installed mid-year and retired L years later is in service L unit-years:
    # f at age 0, 1 in between, 1 - f at age L (review finding 6; was [0.5, 1, 1, 1, 1, 0]).
    assert survival_weights(5, 8, 0.5).tolist() == [0.5, 1, 1, 1, 1, 0.5, 0, 0]
    assert survival_weights(2.5, 5, 0.5).tolist() == [0.5, 1, 1, 0, 0]
    assert survival_weights(2.5, 5, 1.0).tolist() == [1, 1, 0.5, 0, 0]


@settings(max_examples=60, deadline=None)
@given(life=st.floats(1, 15), first=st.floats(0, 1))
def test_finding6_every_unit_gives_lifetime_unit_years_whatever_the_first_year_fraction(
    life, first
):
    w = survival_weights(life, 20, first)
    assert np.all((w >= 0) & (w <= 1))
    assert w.sum() == pytest.approx(life, abs=1e-9)


def test_finding6_steady_shipments_give_l_times_annual_in_service():
    # Steady state: 1 unit a year, L = 5 -> 5 in service, for f = 1 and f = 0.5 alike.
    ship = np.ones(12)
    assert installed_base(ship, 5, 1.0)[-1] == pytest.approx(5.0)
    assert installed_base(ship, 5, 0.5)[-1] == pytest.approx(5.0)
    assert installed_base(ship, 5, 0.0)[-1] == pytest.approx(5.0)


@pytest.mark.parametrize(
    ("field", "value", "needle"),
    [
        ("ai.fleet.h100.shipments", {"-100000000": 1e6}, r"shipments\.-100000000"),
        ("ai.fleet.h100.shipments", {"224": 1e6}, r"shipments\.224"),
        ("pue", {"3000": 1.3}, r"pue\.3000"),
        ("regions", {"1800": {"US": 0.6, "Rest of world": 0.4}}, r"regions\.1800"),
    ],
)
def test_finding8_year_keys_outside_1990_2060_are_rejected_before_any_allocation(
    field, value, needle
):
    # Review finding 8: a shipment year of -1e8 tried to allocate 74.5 GiB.
    with pytest.raises(CatalogError, match=needle + r".*a year \(whole number\) in 1990\.\.2060"):
        run_small(**{field: value})


def test_finding8_base_years_and_the_year_range_are_bounded():
    with pytest.raises(CatalogError, match=r"non_ai\.rest\.base_year': 1800.*1990\.\.2060"):
        run_small(**{"non_ai.rest.base_year": 1800})
    with pytest.raises(CatalogError, match=r"'years': '1000:3000' is not allowed.*1990"):
        run_small(years="1000:3000")
    with pytest.raises(InputError, match=r"years.*1990\.\.2060"):
        project(SCEN / "lbnl-2024.toml", years="2023:2100")


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("non_ai.rest.twh", True, "a number or a range table"),
        ("hours_per_year", True, "a number"),
        ("ai.lifetime_years", "5", "a number or a range table"),
        ("non_ai.rest.base_year", "2024", "a whole number"),
        ("regions", {"2024": {"US": True, "Rest of world": 0.4}}, "a number"),
        ("ai", "yes", "a table"),
    ],
)
def test_finding9_types_are_strict(field, value, allowed):
    # Review finding 9: true was read as 1.0 and "5" as 5; now each is an error naming the
    # field, the value and the type expected.
    with pytest.raises(CatalogError, match="is not allowed: expected " + allowed):
        run_small(**{field: value})


def test_finding10_growth_rates_have_an_upper_bound():
    # Review finding 10: 1e6 %/yr printed 3e26 TWh with exit 0.
    with pytest.raises(InputError, match=r"non_ai\.rest\.growth_pct_per_year = 1e\+06.*1,000"):
        run_small(**{"non_ai.rest.growth_pct_per_year": 1e6})
    raw = _compute(small_scenario(), base_year=2024, flops_growth_pct_per_year=5000.0)
    with pytest.raises(InputError, match=r"ai\.compute\.flops_growth_pct_per_year = 5000"):
        project(parse_scenario(raw))
    raw = _compute(
        small_scenario(),
        base_year=2024,
        flops_growth_pct_per_year=1000.0,
        efficiency_gain_pct_per_year=1000.0,
    )
    assert project(parse_scenario(raw)).value("ai_twh", "World", 2025) > 0  # the bound itself


def test_finding10_electricity_growth_is_bounded_in_the_loader():
    # -99.9 %/yr made data centres use 2.5e107 x national electricity.
    with pytest.raises(CatalogError, match=r"electricity\.growth_pct_per_year': -99\.9.*-20, 20"):
        run_small(**{"electricity.growth_pct_per_year": -99.9})


def test_finding10_a_share_above_national_electricity_names_the_input_that_drove_it():
    with pytest.raises(InputError) as info:
        run_small(**{"non_ai.rest.growth_pct_per_year": 300.0})
    err = info.value
    assert err.field == "non_ai.rest.growth_pct_per_year" and err.value == 300.0
    assert "total_share" in str(err) and "share <= 1" in str(err)
    with pytest.raises(InputError, match=r"^electricity\.growth_pct_per_year = -20"):
        run_small(
            years="2024:2040",
            **{
                "electricity.growth_pct_per_year": -20.0,
                "non_ai.rest.twh": 1500.0,
                "non_ai.rest.growth_pct_per_year": 0.0,
            },
        )
    with pytest.raises(InputError, match=r"^non_ai\.rest\.twh = 30000.*total_share"):
        run_small(**{"non_ai.rest.twh": 30_000.0})


def test_finding11_hours_per_year_is_8760_or_8784():
    # Review finding 11: 0.001 h gave 144 million 'average GW'.
    with pytest.raises(
        CatalogError, match=r"hours_per_year': 0\.001 is not allowed: expected 8760 .* or 8784"
    ):
        run_small(hours_per_year=0.001)
    base = run_small().value("ai_twh", "World", 2026)
    leap = run_small(hours_per_year=8784).value("ai_twh", "World", 2026)
    assert leap == pytest.approx(base * 8784 / 8760, rel=1e-12)


def test_finding15_ai_can_have_its_own_regional_shares():
    # Review finding 15: AI TWh by region was always the data-centre share of the AI total.
    raw = small_scenario()
    raw["ai_regions"] = {"2024": {"US": 0.8, "Rest of world": 0.2}}
    r = project(parse_scenario(raw))
    world_ai = r.value("ai_twh", "World", 2026)
    world_non_ai = r.value("non_ai_twh", "World", 2026)
    assert r.value("ai_twh", "US", 2026) == pytest.approx(0.8 * world_ai)
    assert r.value("non_ai_twh", "US", 2026) == pytest.approx(0.6 * world_non_ai)
    total = r.value("total_twh", "US", 2026) + r.value("total_twh", "Rest of world", 2026)
    assert total == pytest.approx(r.value("total_twh", "World", 2026))
    assert not r.notes


def test_finding15_without_ai_shares_the_output_says_ai_uses_the_common_split():
    common = run_small()
    assert any("no `ai_regions` table" in n for n in common.notes)
    assert common.to_dict()["notes"] == list(common.notes)
    raw = small_scenario()
    raw["ai_regions"] = {"2024": {"US": 0.8, "China": 0.2}}
    with pytest.raises(InputError, match=r"ai_regions\[2024\].*as in regions: US, Rest of world"):
        project(parse_scenario(raw))


def test_issue11_no_input_is_solved_unless_calibrate_to_is_given():
    # Issue 11: every shipped study file is predicted by default (its calibration field says
    # "None"), its published figures are labelled "predicted", and its inputs are exactly the
    # file's; with calibrate_to they are "calibrated" and the solved values replace the file's.
    for name in ("iea-2025-base", "lbnl-2024", "iea-electricity-2024", "compute-driven-2035"):
        sc = load_scenario(SCEN / f"{name}.toml")
        for spec in sc.variants.values():
            assert spec.calibration.startswith("None"), name
        plain = project(SCEN / f"{name}.toml")
        assert all(p["label"] == "predicted" and not p["used_as_input"] for p in plain.published)
        stated = {
            (r["variant"], r["name"]): r["value"]
            for r in plain.inputs
            if r["name"].startswith("non_ai.")
        }
        for v, spec in sc.variants.items():
            for label, entry in spec.non_ai.items():
                assert stated[(v, f"non_ai.{label}.twh")] == pytest.approx(
                    entry.twh.central if hasattr(entry.twh, "central") else entry.twh
                )
    for spec in load_scenario(SCEN / "de-vries-2023.toml").variants.values():
        assert "not calibrated" in spec.calibration
    cal = project(SCEN / "lbnl-2024.toml", calibrate_to="LBNL-2024")  # case-insensitive
    assert all(c.startswith("CALIBRATED at run time") for c in cal.calibration.values())
    us_totals = [p for p in cal.published if p["quantity"] == "total_twh"]
    assert us_totals and all(p["label"] == "calibrated" for p in us_totals)
    shares = [p for p in cal.published if p["quantity"] == "total_share"]
    assert all(p["label"] == "predicted" for p in shares)  # shares are not solved for


def test_issue11_calibrate_to_names_the_only_study_allowed():
    with pytest.raises(InputError, match=r"calibrate_to = 'iea-2025-base'.*lbnl-2024"):
        project(SCEN / "lbnl-2024.toml", calibrate_to="iea-2025-base")
    with pytest.raises(InputError, match=r"calibrate_to.*published total_twh"):
        project(parse_scenario(small_scenario()), calibrate_to="test")


def test_us_2023_agrees_between_files_within_the_published_range():
    # LBNL 176 and EPRI 152.7 TWh are both published for US 2023 (data/countries/
    # data_centres.csv explains the 13% gap). The old IEA file gave 156 TWh when run back to
    # 2023 and the LBNL file 176; every shipped file now lies inside the published range.
    iea = project(SCEN / "iea-2025-base.toml", years="2023:2030").value("total_twh", "US", 2023)
    lbnl = project(SCEN / "lbnl-2024.toml").value("total_twh", "US", 2023, "low")
    for value in (iea, lbnl):
        assert 152.7 - 0.5 <= value <= 176.0 + 0.5


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (
            {"ai.network_overhed": 0.1},
            r"test\.toml, field 'ai\.network_overhed': unknown key: expected one of "
            r"lifetime_years, .*network_overhead",
        ),
        (
            {"ai.lifetime_years": {"low": 6, "high": 4}},
            r"field 'ai\.lifetime_years': \{low = 6, high = 4\} is not allowed: low 6 is above",
        ),
        ({"non_ai.rest.basis": "itt"}, r"'itt' is not allowed: expected one of 'it' or 'facility'"),
        ({"ai.load_factor": "high"}, r"expected a number, a range table .* or a table of year"),
    ],
)
def test_finding20_loader_errors_name_file_field_value_and_allowed(change, needle):
    # Review finding 20: the projection loader passed raw pydantic text ("Extra inputs are
    # not permitted", "Input should be less than or equal to 8784").
    raw = small_scenario()
    for path, value in change.items():
        node = raw
        *parents, leaf = path.split(".")
        for k in parents:
            node = node[k]
        node[leaf] = value
    with pytest.raises(CatalogError, match=needle) as info:
        parse_scenario(raw, "test.toml")
    assert "Input should" not in str(info.value) and "permitted" not in str(info.value)


def test_finding20_model_checks_name_the_file_and_variant():
    raw = small_scenario()
    raw["variants"] = {"low": {"pue": {"2024": 0.5}}}
    with pytest.raises(InputError, match=r"pue\[2024\] = 0\.5 .*in x\.toml, variant 'low'"):
        project(parse_scenario(raw, "x.toml"))


def test_finding23_de_vries_central_value_is_the_top_of_a_one_sided_band(capsys):
    # de Vries 2023 calls 1.5M servers/yr an upper-end figure: shipments_scale 0.5-1.0, so
    # the central 85.4 TWh lies above P10-P90 by design; the result and the CLI say so.
    # The sampled inputs' band alone; the band shown (with the model's out-of-sample error)
    # holds the central value, and then no note says otherwise.
    r = project(SCEN / "de-vries-2023.toml", samples=2000, seed=0, error_band=False)
    row = r.frame[r.frame["variant"] == "a100"].iloc[0]
    assert row["total_twh"] > row["total_twh_p90"]
    assert any("one-sided" in n and "ai.shipments_scale" in n for n in r.notes)
    assert "one-sided" in r.calibration["a100"]
    shown = project(SCEN / "de-vries-2023.toml", samples=2000, seed=0)
    row = shown.frame[shown.frame["variant"] == "a100"].iloc[0]
    assert row["total_twh_p10"] <= row["total_twh"] <= row["total_twh_p90"]
    assert not any("its own P10-P90 band" in n for n in shown.notes)
    assert main(["project", str(SCEN / "de-vries-2023.toml"), "--samples", "500"]) == 0
    out = capsys.readouterr().out
    assert "one-sided" in out and "out-of-sample error" in out


def test_finding23_no_note_when_central_values_lie_inside_their_bands():
    r = project(SCEN / "lbnl-2024.toml", samples=500, seed=1, error_band=False)
    assert not any("P10-P90" in n for n in r.notes)


def test_finding20_electricity_table_errors_name_row_column_value_and_allowed(tmp_path):
    from planner.projection import load_electricity

    text = (ROOT / "data" / "countries" / "electricity.csv").read_text(encoding="utf-8")
    bad = tmp_path / "electricity.csv"
    bad.write_text(text.replace("US,2022,consumption,actual,,4070", "US,2022,use,actual,,4070"))
    with pytest.raises(
        CatalogError,
        match=r"row 2, column 'definition': 'use' is not allowed: expected one of "
        r"'consumption' or 'generation'",
    ):
        load_electricity(bad)


# ------------------------------------------------------------------------------------------
# Issue 10: the grid peak at a design-day PUE (ai_peak_gw); energy stays at the annual PUE
# ------------------------------------------------------------------------------------------


def one_gw_nameplate(**changes) -> dict:
    """1 GW of AI IT at nameplate in 2024 (H100 share of a DGX H100: 10.2 kW / 8 = 1,275 W),
    load factor 0.5, no network, annual PUE 1.2, the world only, no non-AI load."""
    raw = small_scenario()
    raw["years"] = "2024:2024"
    raw["ai"] = {
        "lifetime_years": 1,
        "first_year_fraction": 1.0,
        "load_factor": 0.5,
        "network_overhead": 0.0,
        "fleet": {
            "h100": {"accelerator": "h100", "shipments": {"2024": 1e9 / 1275.0}, "source": "t"}
        },
    }
    raw["pue"] = {"2024": 1.2}
    raw["non_ai"] = {}
    raw["regions"] = {"2024": {"World": 1.0}}
    raw.update(changes)
    return raw


def test_issue10_hand_computed_peak_of_1_gw_nameplate_at_load_0_5():
    # 1 GW nameplate IT x 0.5 load x PUE 1.2 = 0.6 GW average; 1 GW x design-day PUE 1.3
    # = 1.3 GW of grid capacity. Energy: 0.6 GW x 8,760 h = 5.256 TWh, whatever design_pue.
    r = project(parse_scenario(one_gw_nameplate(design_pue={"2024": 1.3})))
    assert r.value("ai_gw", "World", 2024) == pytest.approx(0.6, rel=1e-12)
    assert r.value("ai_peak_gw", "World", 2024) == pytest.approx(1.3, rel=1e-12)
    assert r.value("ai_twh", "World", 2024) == pytest.approx(0.6 * 8.76, rel=1e-12)
    assert r.value("design_pue", "World", 2024) == pytest.approx(1.3)
    assert r.value("pue", "World", 2024) == pytest.approx(1.2)


def test_issue10_compute_driven_peak_is_average_over_load_factor_times_design_pue():
    # No fleet: 0.5 GW of AVERAGE IT power at load factor 0.5 is 1 GW at nameplate.
    raw = one_gw_nameplate(design_pue={"2024": 1.3})
    raw["years"] = "2024:2026"
    raw["ai"]["fleet"] = {}
    raw["ai"]["compute"] = {
        "base_year": 2024,
        "base_it_power_gw": 0.5,
        "flops_growth_pct_per_year": 0.0,
        "efficiency_gain_pct_per_year": 0.0,
        "source": "test",
    }
    r = project(parse_scenario(raw))
    for year in (2024, 2026):
        assert r.value("ai_gw", "World", year) == pytest.approx(0.6, rel=1e-12)
        assert r.value("ai_peak_gw", "World", year) == pytest.approx(1.3, rel=1e-12)


def test_issue10_without_design_pue_it_is_derived_from_the_annual_pue_with_ratio_1_5():
    # data/assumptions.csv design_pue_overhead_ratio 1.5 (estimate): 1 + 0.2 x 1.5 = 1.3.
    r = project(parse_scenario(one_gw_nameplate()))
    assert r.value("design_pue", "World", 2024) == pytest.approx(1.3, rel=1e-12)
    assert r.value("ai_peak_gw", "World", 2024) == pytest.approx(1.3, rel=1e-12)
    row = next(i for i in r.inputs if i["name"] == "design_pue[2024]")
    assert row["value"] == pytest.approx(1.3)
    assert row["source"] == (
        "derived from pue with design_pue_overhead_ratio 1.5 (data/assumptions.csv, estimate)"
    )


def test_issue10_de_vries_keeps_pue_1_and_nameplate_at_full_power(de_vries):
    # de Vries: no PUE (1.0) and load factor 1.0: the design-day PUE is 1 + 0 x 1.5 = 1 and the
    # peak IS the paper's nameplate draw, 1.5e6 x 6.5 kW = 9.75 GW (A100), x 10.2 kW = 15.3 GW.
    for variant, kw in (("a100", 6.5), ("h100", 10.2)):
        assert de_vries.value("design_pue", "World", 2027, variant) == 1.0
        peak = de_vries.value("ai_peak_gw", "World", 2027, variant)
        assert peak == pytest.approx(de_vries.value("ai_gw", "World", 2027, variant), rel=1e-12)
        assert peak == pytest.approx(1.5e6 * kw / 1e6, rel=1e-12)
    assert de_vries.value("total_twh", "World", 2027, "a100") == pytest.approx(85.41, abs=0.05)


@pytest.mark.parametrize("name", ["iea-2025-base", "compute-driven-2035", "lbnl-2024"])
def test_issue10_shipped_peaks_are_nameplate_it_times_design_pue(name):
    # peak = average facility / annual PUE / load factor x design-day PUE (0.5368 in these
    # files), in the fleet years and (compute-driven-2035, after 2026) the driven years.
    r = project(SCEN / f"{name}.toml")
    f = r.frame
    expect = f["ai_gw"] / f["pue"] / 0.5368 * f["design_pue"]
    np.testing.assert_allclose(f["ai_peak_gw"], expect, rtol=1e-12)
    np.testing.assert_allclose(f["design_pue"], 1 + (f["pue"] - 1) * 1.5, rtol=1e-12)
    assert (f["ai_peak_gw"] >= f["ai_gw"]).all()


def test_issue10_iea_2025_world_ai_peak_2030_is_about_twice_the_average():
    # 46.5 GW average (x 1.202) -> 38.7 GW IT / 0.5368 = 72.1 GW nameplate x 1.303 = 93.9 GW.
    r = project(SCEN / "iea-2025-base.toml")
    assert r.value("ai_gw", "World", 2030) == pytest.approx(46.5, abs=0.05)
    assert r.value("ai_peak_gw", "World", 2030) == pytest.approx(93.9, abs=0.05)


def _energy_columns(frame):
    return frame[[c for c in frame.columns if "peak" not in c and c != "design_pue"]]


def test_issue10_design_pue_changes_no_energy_number_not_even_the_bands():
    ranged = {"2024": {"low": 1.35, "value": 1.4, "high": 1.6}, "2026": 1.5}
    runs = [
        run_small(samples=300, seed=3),
        run_small(samples=300, seed=3, design_pue={"2024": 1.3}),
        run_small(samples=300, seed=3, design_pue=ranged),
    ]
    for other in runs[1:]:
        assert_frame_equal(_energy_columns(runs[0].frame), _energy_columns(other.frame))
    assert runs[2].value("ai_peak_gw", "World", 2025) > runs[1].value("ai_peak_gw", "World", 2025)


@settings(max_examples=25, deadline=None)
@given(
    load=st.floats(0.05, 1.0),
    load_spread=st.floats(0.0, 0.3),
    pue=st.floats(1.0, 2.5),
    pue_spread=st.floats(0.0, 0.3),
    extra=st.one_of(st.none(), st.floats(0.0, 0.4)),
    uniform=st.booleans(),
    network=st.floats(0.0, 0.5),
    seed=st.integers(0, 2**16),
)
def test_issue10_peak_is_never_below_the_average_in_any_draw(
    load, load_spread, pue, pue_spread, extra, uniform, network, seed
):
    from planner.catalog import load_catalog
    from planner.projection import _Draw, _evaluate

    lf = {"low": max(0.01, load - load_spread), "value": load, "high": load}
    p = {"low": pue, "value": min(3.0, pue + pue_spread / 2), "high": min(3.0, pue + pue_spread)}
    changes = {"ai.load_factor": lf, "ai.network_overhead": network, "pue": {"2024": p}}
    if extra is not None:  # an explicit design-day PUE: a range at or above the annual one
        d = {k: min(3.0, v + extra) for k, v in p.items()}
        if uniform:
            d.pop("value")
        changes["design_pue"] = {"2024": d, "2030": min(3.0, p["high"] + extra)}
    raw = small_scenario(**changes)
    raw["ai"]["compute"] = {  # the compute-driven branch after 2025 too
        "base_year": 2025,
        "flops_growth_pct_per_year": {"low": 0.0, "high": 60.0},
        "efficiency_gain_pct_per_year": 25.0,
        "source": "test",
    }
    spec = parse_scenario(raw).variants["base"]
    years = np.arange(2024, 2031, dtype=float)
    core = _evaluate(spec, _Draw(200, np.random.default_rng(seed)), load_catalog(), years)
    average_gw = core["ai_twh"] / (spec.hours_per_year * 1e-3)
    assert (core["design_pue"] >= core["pue"] - 1e-12).all()
    assert (core["ai_peak_gw"] >= average_gw * (1 - 1e-12)).all()
    r = project(parse_scenario(raw), samples=50, seed=seed)
    assert (r.frame["ai_peak_gw"] >= r.frame["ai_gw"] * (1 - 1e-12)).all()


def test_issue10_design_pue_below_the_annual_pue_is_one_line_naming_the_field(tmp_path, capsys):
    with pytest.raises(
        InputError,
        match=r"^design_pue\[2024\] = 1\.1 is not allowed: expected at least the annual PUE "
        r"of 2024 \(pue 1\.3\)",
    ) as err:
        run_small(design_pue={"2024": 1.1})
    assert "\n" not in str(err.value)
    # against the high end of a ranged annual PUE: every draw must stay ordered
    with pytest.raises(InputError, match=r"design_pue\[2024\] = 1\.35 .*high end pue 1\.4"):
        run_small(pue={"2024": {"low": 1.2, "value": 1.3, "high": 1.4}}, design_pue={"2024": 1.35})
    # between anchors: the annual PUE rises to 1.6 in 2027, the design day stays at 1.5
    with pytest.raises(InputError, match=r"^design_pue = 1\.5 .*annual PUE of 2027"):
        run_small(pue={"2024": 1.3, "2027": 1.6}, design_pue={"2024": 1.5})
    with pytest.raises(InputError, match=r"design_pue\[2024\] = 3\.5 .*\[1, 3\]"):
        run_small(design_pue={"2024": 3.5})
    text = (SCEN / "de-vries-2023.toml").read_text(encoding="utf-8")
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("[regions.2027]", "[design_pue]\n2027 = 0.9\n\n[regions.2027]"))
    assert main(["project", str(bad), "--samples", "0"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "design_pue[2027] = 0.9" in lines[0]


def test_issue10_cli_and_json_report_the_peak(capsys):
    assert main(["project", "iea-2025-base", "--samples", "200", "--country", "World"]) == 0
    out = capsys.readouterr().out
    from planner import quantities

    design = quantities.label("design_pue", unit=False)  # the vocabulary's, not a copy
    assert "AI peak GW" in out and design in out and "design-day PUE" in out
    assert main(["project", "iea-2025-base", "--samples", "200", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    row = next(r for r in d["rows"] if r["country"] == "World" and r["year"] == 2030)
    assert row["ai_peak_gw_p10"] <= row["ai_peak_gw_p50"] <= row["ai_peak_gw_p90"]
    assert row["ai_peak_gw"] == pytest.approx(93.9, abs=0.05)
    assert row["design_pue"] == pytest.approx(1.303)
    assert any(i["name"] == "design_pue[2024]" for i in d["inputs"])


def test_issue10_projection_report_has_the_peak_with_its_unit():
    from planner.reports.projection import build_projection_report

    report = build_projection_report(SCEN / "iea-2025-base.toml", samples=0, backtest=False)
    assert report.headline_value("ai_peak_gw_2030") == pytest.approx(93.9, abs=0.05)
    trajectory = report.table("trajectory")
    units = {c.key: c.unit for c in trajectory.columns}
    assert units["ai_peak_gw"] == "GW" and units["design_pue"] == "ratio"
    assert units["ai_gw"] == "GW"
    assert any("design-day PUE" in n and "annual PUE" in n for n in report.notes)
    assert any(a["name"] == "design_pue[2024]" for a in report.assumptions)


def test_issue10_national_page_shows_peak_beside_average_with_the_two_pues():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=60).run()
    at.switch_page("planner/app/national_page.py").run()
    assert not at.exception, [e.value for e in at.exception]
    peak = next(m for m in at.metric if m.label == "AI grid peak 2030")
    # IEA 2025 base, world 2030: 93.9 GW at the design day vs 46.5 GW average (core values)
    assert peak.value == "93.9 GW"  # the vocabulary formats GW with one decimal
    assert "average 46.5 GW" in peak.help and "design-day PUE 1.3" in peak.help
    label = quantities.label  # headers are the vocabulary's
    table = next(df.value for df in at.dataframe if label("ai_peak_gw") in df.value)
    row = (table[label("country")] == "World") & (table[label("year")].astype(str) == "2030")
    world = table[row].iloc[0]
    assert world[label("ai_gw")] == "46.5" and world[label("design_pue")] == "1.3"
    captions = "\n".join(c.value for c in at.caption)
    assert "DESIGN DAY" in captions and "ANNUAL PUE" in captions
    assert "1 + (PUE - 1) x 1.5 (design_pue_overhead_ratio" in captions


@pytest.fixture(scope="module")
def bands():
    iea = project(SCEN / "iea-2025-base.toml", samples=2000, seed=0)
    lbnl = project(SCEN / "lbnl-2024.toml", samples=2000, seed=0)
    return iea, lbnl


def _band(result, variant, country, year, quantity="total_twh"):
    f = result.frame
    row = f[(f["variant"] == variant) & (f["country"] == country) & (f["year"] == year)].iloc[0]
    return row[f"{quantity}_p10"], row[f"{quantity}_p90"]


@pytest.fixture(scope="module")
def input_bands():
    iea = project(SCEN / "iea-2025-base.toml", samples=2000, seed=0, error_band=False)
    lbnl = project(SCEN / "lbnl-2024.toml", samples=2000, seed=0, error_band=False)
    return iea, lbnl


def test_iea_2030_and_lbnl_2028_fall_inside_their_bands(bands, input_bands):
    # The sampled inputs alone (seed 0, 2,000 samples): IEA World 2030 P10-P90 808-1,110 TWh
    # (published 945); LBNL high 2028 514-605 TWh (580); the LBNL low case (325) just below
    # its band (325.4-371). The band shown adds the model's out-of-sample error
    # (planner.projection.error_band): every one of them inside.
    iea, lbnl = input_bands
    lo, hi = _band(lbnl, "low", "US", 2028)
    assert lo == pytest.approx(325.4, abs=1.0) and lo > 325
    iea, lbnl = bands
    lo, hi = _band(iea, "base", "World", 2030)
    assert lo <= 945 <= hi
    for variant, value in (("high", 580), ("low", 325)):
        lo, hi = _band(lbnl, variant, "US", 2028)
        assert lo <= value <= hi


def _inside(results):
    inside = total = 0
    for result in results:
        for p in result.published:
            lo, hi = _band(result, p["variant"], p["country"], p["year"], p["quantity"])
            total += 1
            inside += int(lo <= p["published"] <= hi)
    return inside, total


def test_share_of_published_figures_inside_the_band_is_measured(bands, input_bands):
    # Published figures that are not inputs: IEA Energy and AI 2025 (World, US, China 2024 and
    # 2030; World share 2024) and LBNL 2024 (US 2023 and 2028, TWh and share, per variant;
    # 2023 also under the trend variant). Inside the sampled inputs' P10-P90: 5 of 17 (parameter
    # noise only; US 2023 is the LBNL/EPRI disagreement, 176 vs 152.7 TWh). Inside the band
    # with the model's out-of-sample error (each study's own figures left out of its band):
    # 17 of 17.
    assert _inside(input_bands) == (5, 17)
    assert _inside(bands) == (17, 17)
