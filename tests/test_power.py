"""The power chain: TDP -> server share -> IT load -> facility power, peak vs average."""

from __future__ import annotations

import pytest

from planner import facility, power


def test_dgx_h100_share_is_1275_w_per_gpu():
    # DGX H100 datasheet: 10.2 kW max for 8 GPUs.
    assert power.system_power_per_gpu_w(10.2, 8) == pytest.approx(1275.0)


def test_chain_keeps_each_step_distinct_and_ordered():
    chain = power.power_chain_per_gpu(
        700,
        10.2,
        8,
        network_overhead=0.10,
        pue=1.2,
        avg_load_fraction=0.8,
        design_pue=float(facility.design_day_pue(1.2)),
    )
    assert chain["gpu_tdp_w"] == 700
    assert chain["server_power_per_gpu_w"] == pytest.approx(1275)
    assert chain["it_power_per_gpu_w"] == pytest.approx(1275 * 1.1)
    # peak at the design-day PUE derived from annual 1.2: 1 + 0.2 x 1.5 = 1.3
    assert chain["facility_power_per_gpu_w"] == pytest.approx(1275 * 1.1 * 1.3)
    # average at the annual PUE
    assert chain["average_facility_power_per_gpu_w"] == pytest.approx(1275 * 0.8 * 1.1 * 1.2)
    assert chain["gpu_tdp_w"] < chain["server_power_per_gpu_w"] < chain["it_power_per_gpu_w"]
    assert chain["average_facility_power_per_gpu_w"] < chain["facility_power_per_gpu_w"]


def test_chain_peak_uses_a_given_design_day_pue_and_the_average_the_annual_pue():
    chain = power.power_chain_per_gpu(
        700, 10.2, 8, network_overhead=0.10, pue=1.2, avg_load_fraction=0.8, design_pue=1.5
    )
    assert chain["facility_power_per_gpu_w"] == pytest.approx(1275 * 1.1 * 1.5)
    assert chain["average_facility_power_per_gpu_w"] == pytest.approx(1275 * 0.8 * 1.1 * 1.2)


def test_design_day_pue_of_the_shipped_ratio():
    # data/assumptions.csv design_pue_overhead_ratio 1.5 (ESTIMATE): 1.10 -> 1.15, 1.20 -> 1.30,
    # 1.56 -> 1.84; a ratio of 1 keeps the annual PUE; PUE 1.0 (no overhead) stays 1.0.
    assert facility.design_day_pue([1.10, 1.20, 1.56]) == pytest.approx([1.15, 1.30, 1.84])
    assert power.design_day_pue(1.35, 1.0) == pytest.approx(1.35)
    assert facility.design_day_pue(1.0) == pytest.approx(1.0)


def test_facility_profiles_carry_a_design_day_pue_at_least_the_annual_one_with_a_source():
    from planner.assumptions import default_table, facility_profiles

    profiles = facility_profiles()
    ratio = default_table()["design_pue_overhead_ratio"].value
    assert (profiles["design_pue"] >= profiles["pue"]).all()
    assert profiles.loc["hyperscale-air", "design_pue"] == pytest.approx(1.30)
    for name, row in profiles.iterrows():
        assert row["design_pue_source"].strip(), name
        if row["design_pue_source"].startswith("ESTIMATE derived"):  # must not drift from ratio
            assert row["design_pue"] == pytest.approx(power.design_day_pue(row["pue"], ratio))


def test_a_facility_file_with_a_design_pue_below_the_annual_pue_names_the_row(
    tmp_path, monkeypatch
):
    from planner import assumptions
    from planner.errors import CatalogError

    (tmp_path / "facility.csv").write_text(
        "profile,pue,source,design_pue,design_pue_source,description\n"
        "hot,1.30,a survey,1.20,a guess,a hall\n"
    )
    monkeypatch.setattr(assumptions, "data_dir", lambda: tmp_path)
    assumptions.facility_profiles.cache_clear()
    try:
        with pytest.raises(CatalogError, match=r"facility.csv.*row 2.*design_pue"):
            assumptions.facility_profiles()
    finally:
        assumptions.facility_profiles.cache_clear()


def test_measured_average_power_replaces_nameplate_times_load():
    # Patterson et al. 2021: 330 W measured per V100 for GPT-3.
    assert power.average_server_power_per_gpu_w(437.5, 0.8, 330) == pytest.approx(330)


def test_energy_is_average_power_times_hours():
    assert power.energy_mwh(2.0, 24) == pytest.approx(48.0)


def test_power_is_pure_physics_and_imports_no_planner_module():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(power.__file__).read_text(encoding="utf-8"))
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("planner")]


def test_facility_resolves_a_hall_explicit_then_profile_then_derived():
    explicit = facility.resolve(1.2, 1.5, annual_where="f: site.pue", design_where="f: d")
    assert (explicit.annual, explicit.design, explicit.design_source) == (1.2, 1.5, "f: d")
    profile = facility.resolve("hyperscale-air", annual_where="f: site.pue")
    assert profile.design == pytest.approx(1.30)
    assert "its design-day PUE 1.3" in profile.design_source
    derived = facility.resolve(1.2, annual_where="f: site.pue")
    assert derived.design == pytest.approx(1.30)
    assert derived.design_source.startswith("derived from the annual PUE 1.2 (f: site.pue)")
    default = facility.resolve(None)
    assert default.annual_source == "data/assumptions.csv: pue"
    # one annual PUE per quarter of a build-out, elementwise
    quarters = facility.design_pues([1.1, 1.2, 1.3], [float("nan"), 1.4, float("nan")])
    assert quarters == pytest.approx([1.15, 1.4, 1.45])
