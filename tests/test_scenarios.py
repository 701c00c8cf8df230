"""Scenario files: the shipped examples load, and every bad file names file, field and value."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from planner.amortization import chip_economics
from planner.catalog import load_catalog
from planner.cli import main
from planner.data_errors import show_path
from planner.errors import CatalogError
from planner.scenarios import load_scenario, scenario_from_dict

SCENARIOS = Path(__file__).resolve().parents[1] / "data" / "scenarios"

GOOD = """
title = "tiny"
[site]
grid_limit_mw = 15
pue = 1.2
[[runs]]
name = "a"
flops = 2e25
deadline_days = 90
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.name)
def test_every_shipped_scenario_loads(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.runs and scenario.site.grid_limit_mw > 0


def test_shipped_examples_include_the_three_of_the_issue() -> None:
    names = {p.name for p in SCENARIOS.glob("*.toml")}
    assert {"gtc2024.toml", "my_site.toml", "gtc2024_10mw_h100.toml"} <= names


def test_gtc2024_pue_follows_the_cooling_of_each_chip() -> None:
    # data/facility.csv: colocation-air 1.35 (Hopper, air), hyperscale-liquid 1.10 (NVL72).
    s = load_scenario(SCENARIOS / "gtc2024.toml")
    cat = load_catalog()
    h100 = s.assumptions_for(s.runs[0], cat.get("h100"))
    gb200 = s.assumptions_for(s.runs[0], cat.get("gb200"))
    # the presets' halls: hyperscale-air 1.20 (design-day 1.30), hyperscale-liquid 1.10 (1.15)
    assert (h100.pue, h100.design_pue) == pytest.approx((1.20, 1.30))
    assert (gb200.pue, gb200.design_pue) == pytest.approx((1.10, 1.15))


def test_per_chip_mfu_and_its_default_key() -> None:
    s = load_scenario(SCENARIOS / "gtc2024_10mw_h100.toml")
    cat = load_catalog()
    run = s.runs[0]
    assert s.assumptions_for(run, cat.get("h100")).mfu == 0.20
    assert s.assumptions_for(run, cat.get("gb200")).mfu == 0.32
    assert s.assumptions_for(run, cat.get("b200")).mfu == 0.20  # the `default` key


def test_a_chip_id_pue_key_wins_over_the_cooling_type() -> None:
    s = scenario_from_dict(
        {
            "site": {"grid_limit_mw": 10, "pue": {"air": 1.4, "liquid": 1.1, "h100": 1.25}},
            "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30}],
        }
    )
    cat = load_catalog()
    assert s.assumptions_for(s.runs[0], cat.get("h100")).pue == 1.25
    assert s.assumptions_for(s.runs[0], cat.get("b200")).pue == 1.4


def test_default_candidates_are_the_chips_priced_in_chip_economics() -> None:
    # issue 10: data/chip_economics.csv prices every shipped chip (estimates marked), so every
    # catalog chip is a candidate, not only the ones with a catalog price
    s = scenario_from_dict(
        {"site": {"grid_limit_mw": 10}, "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30}]}
    )
    priced = set(chip_economics().index)
    expected = [a.id for a in load_catalog() if a.id in priced]
    assert s.candidate_ids() == expected
    assert len(expected) == 13  # the 13 shipped chips all have a row
    assert "h200" in expected and load_catalog().get("h200").price_usd_per_gpu is None


def test_values_not_given_come_from_the_assumptions_table_with_sources() -> None:
    s = load_scenario(_write_tmp_good())
    a = s.assumptions_for(s.runs[0], load_catalog().get("h100"))
    # No MFU given: the run model's, pinned for the whole run on this chip (issue 10);
    # goodput from data/assumptions.csv.
    assert a.goodput == 0.90 and not a.mfu_from_run_model
    assert 0 < a.mfu < 1 and "run model" in a.sources["mfu"]
    assert a.sources["pue"].endswith("site.pue")


def _write_tmp_good() -> Path:
    import tempfile

    folder = Path(tempfile.mkdtemp())
    return _write(folder, GOOD)


BAD_FILES = {
    "unknown key": (
        GOOD.replace("pue = 1.2", "pue = 1.2\ngrid_mv = 3"),
        "site.grid_mv",
        "grid_limit_mw",
    ),
    "missing field": (
        GOOD.replace("deadline_days = 90\n", ""),
        "runs[0].deadline_days",
        "required",
    ),
    "negative MW": (
        GOOD.replace("grid_limit_mw = 15", "grid_limit_mw = -5"),
        "site.grid_limit_mw",
        "(0, 10000]",
    ),
    "MFU 1.5": (GOOD + "mfu = 1.5\n", "runs[0].mfu", "(0, 1]"),
    "unknown chip": (
        GOOD + '[candidates]\nchips = ["h100", "h1000"]\n',
        "candidates.chips[1]",
        "gb200",
    ),
    "not TOML": ("[site\n", None, "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_scenario_error_names_file_field_value_and_allowed(tmp_path: Path, case: str) -> None:
    text, field, allowed = BAD_FILES[case]
    path = _write(tmp_path, text)
    with pytest.raises(CatalogError) as err:
        load_scenario(path)
    message = str(err.value)
    assert str(path) in message or show_path(path) in message  # in full, or shortened
    if field is not None:
        assert field in message
    assert allowed in message


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_cli_exits_2_with_one_line_for_a_bad_scenario(tmp_path: Path, capsys, case: str) -> None:
    text, field, _ = BAD_FILES[case]
    code = main(["optimize", str(_write(tmp_path, text))])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("planner: error:") and err.count("\n") == 1
    assert "Traceback" not in err
    if field is not None:
        assert field in err


def test_a_missing_scenario_file_is_an_error_not_a_crash(tmp_path: Path, capsys) -> None:
    assert main(["optimize", str(tmp_path / "nope.toml")]) == 2
    assert "not found" in capsys.readouterr().err


def test_negative_mw_message_shows_the_value() -> None:
    with pytest.raises(CatalogError, match=r"-5 is not allowed"):
        scenario_from_dict(
            {
                "site": {"grid_limit_mw": -5},
                "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30}],
            },
            source="x.toml",
        )


def _own_catalog(tmp_path: Path):
    """The shipped catalog plus a chip 'x900' (an H200 copy) with no price anywhere: not in
    data/chip_economics.csv and no catalog price (a user's own catalog)."""
    rows = (Path(__file__).resolve().parents[1] / "data" / "accelerators.csv").read_text()
    h200 = next(line for line in rows.splitlines() if line.startswith("h200,"))
    path = tmp_path / "accelerators.csv"
    path.write_text(rows.rstrip("\n") + "\n" + "x900," + h200.split(",", 1)[1] + "\n")
    return load_catalog(path)


def test_a_listed_chip_without_a_price_asks_for_one(tmp_path: Path) -> None:
    cat = _own_catalog(tmp_path)
    data = {
        "site": {"grid_limit_mw": 10},
        "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30}],
        "candidates": {"chips": ["x900"]},
    }
    with pytest.raises(CatalogError, match=r"candidates.price_usd_per_gpu.x900") as err:
        scenario_from_dict(data, catalog=cat)
    assert "data/chip_economics.csv" in str(err.value)
    data["candidates"]["pricing"] = "rent"
    with pytest.raises(CatalogError, match=r"candidates.rent_usd_per_gpu_hour.x900"):
        scenario_from_dict(data, catalog=cat)
    # the default candidates leave it out; an override makes it one
    data["candidates"] = {"price_usd_per_gpu": {"x900": 32000}}
    s = scenario_from_dict(data, catalog=cat)
    assert "x900" in s.candidate_ids(cat)
    del data["candidates"]
    assert "x900" not in scenario_from_dict(data, catalog=cat).candidate_ids(cat)


def test_a_chip_without_a_catalog_price_is_priced_by_chip_economics() -> None:
    # H200: no price in data/accelerators.csv, USD 39,083 per GPU in data/chip_economics.csv
    # (HGX H200 listing, Jan 2025, Epoch AI hardware price data)
    assert load_catalog().get("h200").price_usd_per_gpu is None
    s = scenario_from_dict(
        {
            "site": {"grid_limit_mw": 10},
            "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30}],
            "candidates": {"chips": ["h200"], "pricing": "capex"},
        }
    )
    assert s.candidate_ids() == ["h200"]
    from planner.optimization import build_model

    row = build_model(s).options.loc[("a", "h200")]
    # capex per DGX H200 (8 GPUs): 8 x 39,083 / (1 - 0.19 networking) = USD 386,005, + the
    # facility share: USD 11.7M per MW of peak IT power (data/economics.csv) x 10.2 kW x
    # (1 + 10% network overhead, data/assumptions.csv) = USD 131,274
    servers = 8 * 39_083 / (1 - 0.19)
    assert servers == pytest.approx(386_005, abs=1)
    # the run takes goodput(N): its hot spares are bought too, a share per system
    model = build_model(s)
    spares = model.goodput[("a", "h200")].spares_per_gpu
    assert 0 < spares < 0.1
    assert row["capex_usd_per_system"] == pytest.approx(
        (servers + 11.7e6 * 0.0102 * 1.1) * (1 + spares), rel=1e-9
    )


def test_a_price_override_makes_an_unpriced_chip_a_candidate() -> None:
    s = scenario_from_dict(
        {
            "site": {"grid_limit_mw": 10},
            "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30}],
            "candidates": {"chips": ["h200"], "price_usd_per_gpu": {"h200": 32000}},
        }
    )
    assert s.candidate_ids() == ["h200"]
    a = s.assumptions_for(s.runs[0], load_catalog().get("h200"))
    assert a.price_usd_per_gpu == 32000


# --- pricing (issue 10: the core's modes) ----------------------------------------------------


def _priced(pricing: object | None) -> dict:
    data: dict = {
        "site": {"grid_limit_mw": 10},
        "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30}],
        "candidates": {"chips": ["h100"]},
    }
    if pricing is not None:
        data["candidates"]["pricing"] = pricing
    return data


def test_the_default_pricing_is_amortized_as_planner_size() -> None:
    s = scenario_from_dict(_priced(None))
    assert s.candidates.pricing == "amortized"
    a = s.assumptions_for(s.runs[0], load_catalog().get("h100"))
    assert a.pricing == "amortized"


@pytest.mark.parametrize(
    ("given", "normalised"),
    [
        ("amortized", "amortized"),
        ("capex", "capex"),
        ("rent", "rent"),
        ("buy", "capex"),  # the former name of the whole purchase
        ("auto", "amortized"),
    ],
)
def test_pricing_takes_the_core_modes_and_normalises_the_former_names(given, normalised) -> None:
    s = scenario_from_dict(_priced(given))
    assert s.candidates.pricing == normalised
    assert s.assumptions_for(s.runs[0], load_catalog().get("h100")).pricing == normalised
    assert s.model_dump()["candidates"]["pricing"] == normalised
    # a what-if copy stays normalised (validated again)
    assert s.with_grid_limit(20).candidates.pricing == normalised


@pytest.mark.parametrize("bad", ["purchase", "Capex", "", 1, True])
def test_a_bad_pricing_is_one_line_naming_the_field_and_the_allowed_values(bad) -> None:
    with pytest.raises(CatalogError) as err:
        scenario_from_dict(_priced(bad), source="site.toml")
    text = str(err.value)
    assert "\n" not in text
    assert "candidates.pricing" in text
    for mode in ("amortized", "rent", "capex", "buy = capex", "auto = amortized"):
        assert mode in text, text


def test_the_cli_accepts_capex_and_amortized_scenarios(tmp_path: Path, capsys) -> None:
    # before issue 10 `pricing = "capex"` was refused ("expected one of 'auto', 'buy' or 'rent'")
    for pricing in ("capex", "amortized"):
        path = _write(tmp_path, GOOD + f'[candidates]\nchips = ["h100"]\npricing = "{pricing}"\n')
        assert main(["optimize", str(path), "--json"]) == 0
        import json

        plan = json.loads(capsys.readouterr().out)
        assert plan["pricing"] == pricing
        assert {row["pricing"] for row in plan["runs"]} == {pricing}


def test_a_precision_no_candidate_supports_is_rejected() -> None:
    with pytest.raises(CatalogError, match=r"runs\[0\].precision"):
        scenario_from_dict(
            {
                "site": {"grid_limit_mw": 10},
                "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30, "precision": "fp8"}],
                "candidates": {"chips": ["v100"]},
            }
        )


def test_unknown_facility_profile_lists_the_profiles() -> None:
    with pytest.raises(CatalogError, match=r"hyperscale-liquid"):
        scenario_from_dict(
            {
                "site": {"grid_limit_mw": 10, "pue": {"air": "cold"}},
                "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30}],
            }
        )


def test_duplicate_run_names_are_rejected() -> None:
    run = {"name": "a", "flops": 1e24, "deadline_days": 30}
    with pytest.raises(CatalogError, match=r"runs\[1\].name"):
        scenario_from_dict({"site": {"grid_limit_mw": 10}, "runs": [run, run]})


def test_work_as_params_and_tokens_is_six_n_d() -> None:
    s = load_scenario(SCENARIOS / "gtc2024.toml")
    # SemiAnalysis: 2.8e11 active parameters x 1.3e13 tokens x 6 = 2.18e25 FLOPs.
    assert s.runs[0].training_run().total_flops() == pytest.approx(2.184e25)


# --- review findings: strict types, inf/nan, what-if copies, PUE tables -----------------------

RUN = {"name": "a", "flops": 1e24, "deadline_days": 30}


def _scenario(**changes) -> dict:
    data = {"site": {"grid_limit_mw": 10}, "runs": [dict(RUN)], "candidates": {"chips": ["h100"]}}
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            target = data[section][0] if section == "runs" else data[section]
            target[name] = value
        else:
            data[section] = value
    return data


NON_FINITE = {
    "budget inf": ({"budget_usd": math.inf}, "budget_usd", "inf"),
    "grid nan": ({"site__grid_limit_mw": math.nan}, "site.grid_limit_mw", "nan"),
    "flops inf": ({"runs__flops": math.inf}, "runs[0].flops", "inf"),
    "pue inf": ({"site__pue": math.inf}, "site.pue", "inf"),
    "price inf": (
        {"candidates__price_usd_per_gpu": {"h100": math.inf}},
        "candidates.price_usd_per_gpu.h100",
        "inf",
    ),
}


@pytest.mark.parametrize("case", sorted(NON_FINITE))
def test_inf_and_nan_in_any_number_are_errors_naming_field_and_value(case: str) -> None:
    # finding 2: pydantic allows inf/nan by default; budget_usd = inf crashed the optimiser
    changes, field, shown = NON_FINITE[case]
    with pytest.raises(CatalogError) as err:
        scenario_from_dict(_scenario(**changes), source="x.toml")
    message = str(err.value)
    assert field in message and f"{shown} is not allowed" in message and "x.toml" in message


def test_budget_inf_in_a_toml_file_exits_2_at_the_cli(tmp_path: Path, capsys) -> None:
    path = _write(tmp_path, "budget_usd = inf\n" + GOOD)
    assert main(["optimize", str(path)]) == 2
    err = capsys.readouterr().err
    assert "budget_usd" in err and "inf is not allowed" in err and "Traceback" not in err


STRICT = {
    "string for a bool": ({"allow_mixed_chips": "yes"}, "allow_mixed_chips", "true or false"),
    "bool for a number": ({"runs__flops": True}, "runs[0].flops", "a number in"),
    "bool for MFU": ({"runs__mfu": True}, "runs[0].mfu", "a fraction"),
    "string for MW": ({"site__grid_limit_mw": "15"}, "site.grid_limit_mw", "a number in"),
    "fraction of a GPU": (
        {"candidates__supply_gpus": {"h100": 5.5}},
        "candidates.supply_gpus.h100",
        "whole number",
    ),
    "float racks": ({"site__max_racks": 10.0}, "site.max_racks", "a whole number"),
    "number for a name": ({"runs__name": 5}, "runs[0].name", "text"),
}


@pytest.mark.parametrize("case", sorted(STRICT))
def test_types_are_strict_no_yes_for_true_no_true_for_one_flop(case: str) -> None:
    # finding 9: "yes" silently became True, and flops = true became 1 FLOP
    changes, field, allowed = STRICT[case]
    with pytest.raises(CatalogError) as err:
        scenario_from_dict(_scenario(**changes), source="x.toml")
    assert field in str(err.value) and allowed in str(err.value)


def test_integers_are_still_numbers_and_toml_bools_still_bools() -> None:
    s = scenario_from_dict(_scenario(allow_mixed_chips=True, site__pue=1, budget_usd=400_000_000))
    assert s.allow_mixed_chips is True and s.site.pue == 1 and s.budget_usd == 4e8


def test_prices_and_budget_have_an_upper_bound() -> None:
    # finding 14: a price of 1e300 made HiGHS fail numerically ("no plan in the time limit")
    with pytest.raises(CatalogError, match=r"price_usd_per_gpu.h100.*1e\+07"):
        scenario_from_dict(_scenario(candidates__price_usd_per_gpu={"h100": 1e300}))
    with pytest.raises(CatalogError, match=r"budget_usd.*1e\+13"):
        scenario_from_dict(_scenario(budget_usd=1e300))


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda s: s.with_grid_limit(1e6), "site.grid_limit_mw"),
        (lambda s: s.with_grid_limit(math.inf), "site.grid_limit_mw"),
        (lambda s: s.with_longest_deadline(4000), "runs[0].deadline_days"),
        (lambda s: s.with_longest_deadline(1e-9), "runs[0].deadline_days"),
        (lambda s: s.with_budget(math.nan), "budget_usd"),
    ],
)
def test_what_if_copies_are_validated_like_the_file(make, field: str) -> None:
    # finding 12: model_copy skipped validation (4,000-day deadlines, 1e6 MW grids accepted)
    s = scenario_from_dict(_scenario(), source="x.toml")
    with pytest.raises(CatalogError) as err:
        make(s)
    assert field in str(err.value) and "x.toml" in str(err.value)


def test_what_if_copies_keep_the_source_and_change_only_their_field() -> None:
    s = scenario_from_dict(_scenario(), source="x.toml")
    t = s.with_grid_limit(20).with_longest_deadline(60).with_budget(1e8)
    assert t.source == "x.toml" and t.site.grid_limit_mw == 20
    assert t.runs[0].deadline_days == 60 and t.budget_usd == 1e8
    assert t.candidates == s.candidates


def test_a_partial_pue_table_names_the_chip_it_does_not_cover() -> None:
    # finding 13: {air = 1.5} with H100 (air) and GB200 (liquid) silently gave GB200 PUE 1.2
    with pytest.raises(CatalogError) as err:
        scenario_from_dict(
            _scenario(site__pue={"air": 1.5}, candidates={"chips": ["h100", "gb200"]}),
            source="x.toml",
        )
    message = str(err.value)
    assert "site.pue" in message and "'gb200'" in message and "'liquid'" in message
    assert "default" in message


def test_a_default_key_is_the_explicit_fallback_of_a_pue_table_and_is_named() -> None:
    s = scenario_from_dict(
        _scenario(site__pue={"air": 1.5, "default": 1.15}, candidates={"chips": ["h100", "gb200"]}),
        source="x.toml",
    )
    cat = load_catalog()
    a = s.assumptions_for(s.runs[0], cat.get("gb200"))
    assert a.pue == 1.15 and "site.pue.default" in a.sources["pue"]
    assert s.assumptions_for(s.runs[0], cat.get("h100")).pue == 1.5


def test_design_pue_defaults_to_the_derived_design_day_pue_and_says_so() -> None:
    # issue 10: the grid check uses site.design_pue when given, else the design-day PUE
    # derived from the annual PUE: 1 + (pue - 1) x 1.5 (data/assumptions.csv
    # design_pue_overhead_ratio), or the facility profile's design_pue (data/facility.csv)
    cat = load_catalog()
    s = scenario_from_dict(_scenario(site__pue=1.3))
    value, where = s.design_pue_for(cat.get("h100"))
    assert value == pytest.approx(1.45) and "derived from the annual PUE 1.3" in where
    assert "design_pue_overhead_ratio" in where
    s = scenario_from_dict(_scenario())
    value, where = s.design_pue_for(cat.get("h100"))
    assert value == pytest.approx(1.30) and "data/assumptions.csv: pue" in where
    s = scenario_from_dict(_scenario(site__pue=1.3, site__design_pue=1.5))
    assert s.design_pue_for(cat.get("h100")) == (1.5, "scenario: site.design_pue")
    s = scenario_from_dict(_scenario(site__pue={"air": "colocation-air", "default": 1.1}))
    value, where = s.design_pue_for(cat.get("h100"))
    assert value == pytest.approx(1.525) and "data/facility.csv design_pue" in where


def test_the_sizings_of_a_scenario_carry_the_design_day_pue_for_their_peak() -> None:
    cat = load_catalog()
    s = scenario_from_dict(_scenario(site__pue=1.2))
    a = s.assumptions_for(s.runs[0], cat.get("h100"))
    assert a.pue == 1.2 and a.design_pue == pytest.approx(1.3)
    assert "derived" in a.sources["design_pue"]
    s = scenario_from_dict(_scenario(site__pue=1.2, site__design_pue="industry-average"))
    a = s.assumptions_for(s.runs[0], cat.get("h100"))
    assert a.design_pue == pytest.approx(1.84)  # the profile's design-day PUE, not its 1.56


def test_a_design_pue_below_the_annual_pue_is_rejected() -> None:
    with pytest.raises(CatalogError, match=r"site.design_pue.*at least the annual PUE"):
        scenario_from_dict(_scenario(site__pue=1.3, site__design_pue=1.2))


# --- the assumptions cache (a build asks for every (run, chip) again and again) ---------------


def test_assumptions_are_cached_per_run_and_chip_and_never_stale() -> None:
    s = load_scenario(SCENARIOS / "gtc2024.toml")
    twin = load_scenario(SCENARIOS / "gtc2024.toml")
    h100 = load_catalog().get("h100")
    first = s.assumptions_for(s.runs[0], h100)
    assert s.assumptions_for(s.runs[0], h100) is first  # cached
    assert s == twin  # the cache is not part of the value
    # a copy with other candidates (model_copy shares the private cache) gets its own answer
    other = s.model_copy(update={"candidates": s.candidates.model_copy(update={"pricing": "rent"})})
    assert other.assumptions_for(other.runs[0], h100).pricing == "rent"
    assert s.assumptions_for(s.runs[0], h100).pricing == "capex"
    # the run model's MFU (no MFU given) is the core's, cached or not
    free = scenario_from_dict(
        {"site": {"grid_limit_mw": 10}, "runs": [{"name": "a", "flops": 1e24, "deadline_days": 30}]}
    )
    from planner.assumptions import SizingAssumptions
    from planner.sizing import with_run_model

    core = with_run_model(SizingAssumptions.defaults(), free.runs[0].training_run(), h100, None)
    for _ in range(2):
        a = free.assumptions_for(free.runs[0], h100)
        assert a.mfu == pytest.approx(float(core.mfu), rel=1e-12)
        assert a.sources["mfu"] == core.sources["mfu"]
        assert not a.mfu_from_run_model
