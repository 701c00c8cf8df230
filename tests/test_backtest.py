"""Out-of-sample backtest of the fleet model against published figures (issue 11).

Each expected error below is what the model measured (December 2026), asserted to +-0.5
percentage point so a regression (or an edit of the data) fails. The published figures are
written here again with their study, so a data edit cannot move the target silently.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from planner import backtest as bt
from planner import fleet


@pytest.fixture(scope="module")
def table():
    return bt.backtest()


def test_columns_are_the_json_contract(table):
    assert list(table.columns[:8]) == [
        "study",
        "figure",
        "region",
        "year",
        "published",
        "predicted",
        "error",
        "used_as_input",
    ]
    rows = bt.to_records(table)
    assert json.loads(json.dumps(rows, allow_nan=False))[0].keys() >= {"error", "used_as_input"}


def test_out_of_sample_rows_predict_only_years_after_the_cut_off(table):
    oos = table[~table["used_as_input"]]
    assert (oos["year"] > oos["cutoff_year"]).all()
    assert (oos["year"] <= oos["cutoff_year"] + bt.HORIZON_YEARS).all()
    inputs = table[table["used_as_input"]]
    assert (inputs["year"] <= inputs["cutoff_year"]).all()


#: Every out-of-sample prediction of the backtest (same definition, the default) with its
#: measured error and the naive forecast's (20: 15 hits, 5 misses), so a change that moves
#: any figure across the 15% line shows here. Every trend is held forward damped
#: (planner.fleet.NON_AI_DAMPING = 0.9; undamped, the rule before, the errors were those in
#: the comments: 14 hits).
MEASURED = [
    # Germany: Borderstep's series (its own reports and Bitkom's, made by Borderstep), its
    # trend from 2019 (CliDiTrans, 15 TWh) to the anchor (undamped: +0.5%, +2.6%, +1.6%).
    (2021, "bitkom-2023", "Germany", 2022, 18, -0.001, -0.056),
    (2021, "borderstep-2025", "Germany", 2024, 20, -0.009, -0.150),
    (2022, "borderstep-2025", "Germany", 2024, 20, -0.001, -0.100),
    (2023, "borderstep-2025", "Germany", 2024, 20, -0.001, -0.100),
    # Ireland: the CSO's metered series and its own trend (undamped: -7.6%, -6.6%, +2.9%,
    # +2.2%, +14.0%, +11.2%).
    (2021, "cso-2023", "Ireland", 2022, 5.28, -0.093, -0.238),
    (2021, "cso-2024", "Ireland", 2023, 6.334, -0.113, -0.365),
    (2021, "cso-2025", "Ireland", 2024, 6.969, -0.069, -0.423),
    (2022, "cso-2024", "Ireland", 2023, 6.334, +0.004, -0.166),
    (2022, "cso-2025", "Ireland", 2024, 6.969, +0.080, -0.242),
    (2023, "cso-2025", "Ireland", 2024, 6.969, +0.091, -0.091),
    # Ireland 2025 (CSO, +10% on 2024) from 2022: its 2015-2022 trend (+23 %/yr) damped to
    # 2025, +14.4% (undamped: +27.2%): a hit by 0.6 point.
    (2022, "cso-2026", "Ireland", 2025, 7.663, +0.144, -0.311),
    # World: the IEA's tracking series from its 2021 figure; the IEA's Energy and AI and its
    # 2026 update from Electricity 2024's 350 TWh for 2022, non-AI grown at Masanet et al.'s
    # +0.7 %/yr (no World trend of the iea-ai definition yet; with the any-definition World
    # trend: +11.4% and +8.5%). Undamped: -3.5%, -5.8%, -13.5%.
    (2021, "iea-tracking-2023", "World", 2022, 290, -0.036, -0.069),
    (2023, "iea-energy-ai-2025", "World", 2024, 415, -0.060, -0.157),
    (2023, "iea-key-questions-2026", "World", 2025, 485, -0.138, -0.278),
    # US 2024: LBNL's 2025 Update (192 TWh) from its 2024 report's 176 TWh for 2023
    # (undamped: +11.9%).
    (2023, "lbnl-2026", "US", 2024, 192, +0.107, -0.083),
    # Misses. Netherlands: the CBS 2017-2021 trend (23 %/yr) damped over three years: +22.1%
    # (undamped +36.0%; CBS's 2021-2024 growth was 11 %/yr).
    (2021, "cbs-2025", "Netherlands", 2024, 5.1, +0.221, -0.275),
    (2022, "cbs-2025", "Netherlands", 2024, 5.1, +0.221, -0.275),
    (2023, "cbs-2025", "Netherlands", 2024, 5.1, +0.221, -0.275),
    # Ireland 2025 from 2023: its 2015-2023 trend (+22 %/yr) damped to 2025, +17.2%
    # (undamped +23.7%).
    (2023, "cso-2026", "Ireland", 2025, 7.663, +0.172, -0.173),
    # US 2024 (Energy and AI's 183 TWh) from Electricity 2024's 200 TWh for 2022: the IEA's
    # own US figure falls from 2022 to 2024 while the fleet's AI load grows (undamped +24.1%:
    # the AI load, not the trend, carries it).
    (2023, "iea-energy-ai-2025", "US", 2024, 183, +0.238, +0.093),
]

#: Out-of-sample figures with no figure of their own definition published by the cut-off:
#: listed, not predicted (26). China and Europe 2024 (the IEA's and S&P Global's figures: no
#: earlier figure of theirs), the US from 2021-2022 (LBNL 2016's is the only US figure known
#: then; LBNL's 2024 report, the first of its model, is published in December 2024) and
#: Borderstep's US 2025, the World's IEA Electricity 2024 / Energy and AI / Key Questions
#: figures before the 2023 cut-off.
NOT_PREDICTABLE = [
    (2021, "iea-energy-ai-2025", "China", 2024),
    (2021, "sp-global-2025", "China", 2024),
    (2021, "iea-energy-ai-2025", "Europe", 2024),
    (2021, "iea-electricity-2024", "US", 2022),
    (2021, "iea-energy-ai-2025", "US", 2024),
    (2021, "lbnl-2024", "US", 2023),
    (2021, "lbnl-2026", "US", 2024),
    (2021, "epri-2024", "US", 2023),
    (2021, "mckinsey-2023", "US", 2023),
    (2021, "iea-electricity-2024", "World", 2022),
    (2021, "iea-energy-ai-2025", "World", 2024),
    (2022, "iea-energy-ai-2025", "China", 2024),
    (2022, "sp-global-2025", "China", 2024),
    (2022, "iea-energy-ai-2025", "Europe", 2024),
    (2022, "iea-energy-ai-2025", "US", 2024),
    (2022, "lbnl-2024", "US", 2023),
    (2022, "lbnl-2026", "US", 2024),
    (2022, "epri-2024", "US", 2023),
    (2022, "mckinsey-2023", "US", 2023),
    (2022, "borderstep-2026", "US", 2025),
    (2022, "iea-energy-ai-2025", "World", 2024),
    (2022, "iea-key-questions-2026", "World", 2025),
    (2023, "iea-energy-ai-2025", "China", 2024),
    (2023, "sp-global-2025", "China", 2024),
    (2023, "iea-energy-ai-2025", "Europe", 2024),
    (2023, "borderstep-2026", "US", 2025),
]


def _key(t):
    return set(zip(t["cutoff_year"], t["study"], t["region"], t["year"], strict=True))


def test_every_out_of_sample_prediction_is_listed_with_its_measured_error(table):
    oos = table[~table["used_as_input"]]
    predicted = oos[oos["predicted"].notna()]
    assert _key(predicted) == {(c, s, r, y) for c, s, r, y, *_ in MEASURED}
    assert _key(oos[oos["predicted"].isna()]) == set(NOT_PREDICTABLE)
    assert len(MEASURED) == len(predicted) == 20 and len(NOT_PREDICTABLE) == 26
    assert sum(abs(e) <= bt.HIT_TOLERANCE for *_, e, _ in MEASURED) == 15


@pytest.mark.parametrize(
    ("cutoff", "study", "region", "year", "published", "measured_error", "naive_error"),
    MEASURED,
)
def test_measured_backtest_errors(
    table, cutoff, study, region, year, published, measured_error, naive_error
):
    row = table[
        (table["cutoff_year"] == cutoff)
        & (table["study"] == study)
        & (table["region"] == region)
        & (table["year"] == year)
    ]
    assert len(row) == 1
    r = row.iloc[0]
    assert not r["used_as_input"]
    assert r["published"] == pytest.approx(published)
    assert r["error"] == pytest.approx(measured_error, abs=0.005)
    assert r["persistence_error"] == pytest.approx(naive_error, abs=0.005)


def test_the_models_median_error_is_under_0_7_of_the_naive_forecasts_on_the_same_figures(
    table,
):
    # Each figure from the latest figure of its own definition (and that definition's trend,
    # damped): 15 of 20 within 15% (10 distinct figures; the naive forecast: 7), median |error|
    # 9.2% against the naive 17.0%, a ratio of 0.54 (undamped: 14 of 20, 9.4%, 0.55). From the
    # latest figure of any definition (the rule before, and the projection's): 16 of 46,
    # 22.1% against 30.6% (ratio 0.72; undamped 18 of 46, 36.0%, 1.18).
    s = bt.summary(table)
    assert (s["predictions"], s["not_predictable"]) == (20, 26)
    assert (s["hits"], s["distinct_figures_hit"], s["persistence_hits"]) == (15, 10, 7)
    assert s["hits"] >= 15
    assert s["median_abs_error"] == pytest.approx(0.092, abs=0.005)
    assert s["persistence_median_abs_error"] == pytest.approx(0.170, abs=0.005)
    assert s["median_ratio"] == pytest.approx(0.542, abs=0.005)
    assert s["median_ratio"] <= 0.7
    assert s["median_ratio"] == pytest.approx(
        s["median_abs_error"] / s["persistence_median_abs_error"]
    )


def test_the_naive_forecast_is_judged_on_exactly_the_predicted_figures(table):
    oos = table[~table["used_as_input"]]
    assert (oos["predicted"].isna() == oos["persistence_error"].isna()).all()
    assert (oos["predicted"].isna() == (oos["anchor"] == "")).all()
    judged = oos[oos["predicted"].notna()]
    s = bt.summary(table)
    assert s["persistence_median_abs_error"] == pytest.approx(
        float(judged["persistence_error"].abs().median())
    )
    # the naive anchor is the model's own (same-definition) anchor: at the anchor year the
    # model and the naive forecast agree, and each naive error is that anchor over the figure
    pub = fleet.load_published()
    for r in judged.itertuples():
        studies = r.anchor.split(" (")[0].split("+")
        year = int(r.anchor.split("(")[1].rstrip(")"))
        a = pub[(pub["study"].isin(studies)) & (pub["region"] == r.region) & (pub["year"] == year)]
        naive = float(a["data_centre_twh"].mean()) / r.published - 1
        assert r.persistence_error == pytest.approx(naive)


def test_a_figure_is_never_predicted_from_an_anchor_of_another_definition(table):
    pub = fleet.load_published()
    key = dict(
        zip(zip(pub["study"], pub["region"], strict=True), fleet.definition_keys(pub), strict=True)
    )
    predicted = table[table["predicted"].notna()]
    assert len(predicted) > 0
    for r in predicted.itertuples():
        studies = r.anchor.split(" (")[0].split("+")
        assert {key[(s, r.region)] for s in studies} == {key[(r.study, r.region)]}, r


def test_a_figure_of_a_definition_with_an_earlier_figure_is_predicted_from_it():
    # The rule is the data's, not a list of figures: give SGERI's 2020 figure the IEA's
    # definition and the IEA's China 2024 figure is predicted from it (and S&P Global's, of
    # its own definition, still is not).
    pub = fleet.load_published().copy()
    pub.loc[pub["study"] == "sgeri-2021", "definition"] = "iea-ai"
    t = bt.backtest([2022], published=pub)
    china = t[(t["region"] == "China") & ~t["used_as_input"]].set_index("study")
    assert china.loc["iea-energy-ai-2025", "anchor"] == "sgeri-2021 (2020)"
    assert np.isfinite(china.loc["iea-energy-ai-2025", "predicted"])
    assert np.isnan(china.loc["sp-global-2025", "predicted"])


def test_each_rule_that_drops_a_figure_is_counted():
    # Of the figures in the three cut-offs' horizons: 2 in a region the model does not split
    # (the EU), 41 in a region with nothing published by the cut-off (the rule before), 26
    # with no figure of their own definition (the rule added; the backtest lists them).
    d = bt.dropped_figures()
    assert d["reason"].value_counts().to_dict() == {
        "no anchor": 41,
        "no figure of its definition": 26,
        "region not modelled": 2,
    }
    own = d[d["reason"] == "no figure of its definition"]
    assert _key(own) == set(NOT_PREDICTABLE)


def test_the_trend_of_a_definition_is_measured_between_figures_of_that_definition():
    # The World at the 2023 cut-off: the iea-ai definition has one figure (2022), so no trend
    # of its own; the any-definition trend would run from Masanet et al.'s 2018 figure to it.
    all_pub = fleet.load_published()
    pub = all_pub[(all_pub["year"] > 2023) | (all_pub["published_year"] <= 2024)]
    ai = fleet.ai_demand(bt._years(pub, 2023, bt.HORIZON_YEARS), last_data_year=2023)
    assert fleet.growth_from_data("World", 2023, pub, ai, definition="iea-ai") is None
    assert fleet.growth_from_data("World", 2023, pub, ai) is not None
    rate, source = fleet.non_ai_growth_pct("World", 2022, pub, ai, definition="iea-ai")
    assert rate == pytest.approx(fleet.NON_AI_GROWTH_PCT) and "Masanet" in source


#: The same cut-offs with every figure predicted from its region's latest figure of ANY
#: definition (``same_definition=False``: the rule before, and the one a projection anchors
#: by, so its error sets the projections' error band): 46 predictions, 16 hits, 30 misses
#: (every trend damped, planner.fleet.NON_AI_DAMPING; undamped: 18 hits).
MEASURED_ANY_DEFINITION = [
    # Hits (within 15%): Germany 2022 and 2024, Ireland 2022-2024 (its own CSO trend) and
    # 2025 from 2022 (+14.4%; undamped +27.2%), World 2022 (tracking), 2024 and 2025 from
    # 2023, US 2024 from 2023.
    (2021, "bitkom-2023", "Germany", 2022, 18, -0.001),
    (2021, "borderstep-2025", "Germany", 2024, 20, -0.009),
    (2021, "cso-2023", "Ireland", 2022, 5.28, -0.093),
    (2021, "cso-2024", "Ireland", 2023, 6.334, -0.113),
    (2021, "cso-2025", "Ireland", 2024, 6.969, -0.069),
    (2022, "borderstep-2025", "Germany", 2024, 20, -0.001),
    (2022, "cso-2024", "Ireland", 2023, 6.334, +0.004),
    (2022, "cso-2025", "Ireland", 2024, 6.969, +0.080),
    (2022, "cso-2026", "Ireland", 2025, 7.663, +0.144),
    (2023, "borderstep-2025", "Germany", 2024, 20, -0.001),
    (2023, "cso-2025", "Ireland", 2024, 6.969, +0.091),
    (2023, "iea-energy-ai-2025", "US", 2024, 183, +0.076),
    (2023, "lbnl-2026", "US", 2024, 192, +0.026),
    (2023, "iea-energy-ai-2025", "World", 2024, 415, +0.114),
    (2023, "iea-key-questions-2026", "World", 2025, 485, +0.085),
    # World from 2021: the IEA's tracking report of September 2022 (220-320 TWh in 2021,
    # midpoint 270) is the anchor, grown at the 2018-2021 trend (Masanet et al. to the IEA,
    # +8.2 %/yr non-AI), damped; with Masanet et al.'s 2018 figure alone these were -21%,
    # -34%, -39%. Undamped: +3.2%, -14.5%, -11.7% (damping turns the last two into misses,
    # by 0.1 and 0.03 point: the IEA's World series accelerated, the damped trend does not).
    (2021, "iea-tracking-2023", "World", 2022, 290, +0.024),
    (2021, "iea-electricity-2024", "World", 2022, 350, -0.151),
    (2021, "iea-energy-ai-2025", "World", 2024, 415, -0.1503),
    # World 2024 and 2025 from 2022: the IEA's 2022 tracking figure (290) grown to 2024 and
    # 2025: -15.9% and -21.9% (undamped -14.5%, -19.3%).
    (2022, "iea-energy-ai-2025", "World", 2024, 415, -0.159),
    (2022, "iea-key-questions-2026", "World", 2025, 485, -0.219),
    # Misses, kept so an improvement or a regression shows. China: the anchor at every
    # cut-off is the State Grid Energy Research Institute's 200 TWh for 2020 (2.7% of
    # national use, published 2021), grown at the Greenpeace/NCEPU (2018) to SGERI (2020)
    # trend, +11.1 %/yr non-AI, damped; both are wider totals than the IEA's 102 and S&P
    # Global's 140 TWh for 2024 (undamped +122% to +207%).
    (2021, "iea-energy-ai-2025", "China", 2024, 102, +1.783),
    (2021, "sp-global-2025", "China", 2024, 140, +1.028),
    (2022, "iea-energy-ai-2025", "China", 2024, 102, +1.792),
    (2022, "sp-global-2025", "China", 2024, 140, +1.034),
    (2023, "iea-energy-ai-2025", "China", 2024, 102, +1.812),
    (2023, "sp-global-2025", "China", 2024, 140, +1.049),
    # Europe: Borderstep's 87 TWh for 2020 (a wider total than the IEA's 68 for 2024),
    # grown at the World's trend known for 2020, now the IEA's 2020 figure (Masanet et al.
    # 2018 to the IEA's 225 TWh, +3.6 %/yr), damped (undamped +51% to +53%).
    (2021, "iea-energy-ai-2025", "Europe", 2024, 68, +0.465),
    (2022, "iea-energy-ai-2025", "Europe", 2024, 68, +0.471),
    (2023, "iea-energy-ai-2025", "Europe", 2024, 68, +0.485),
    # US up to 2022: the latest figure published by then is LBNL 2016's for 2014, grown at
    # the World's 2010-2018 rate (no US trend of its own). McKinsey's 147 TWh for 2023
    # (October 2023) and Borderstep's 200 TWh for 2025 (May 2026) are targets too.
    (2021, "iea-electricity-2024", "US", 2022, 200, -0.583),
    (2021, "lbnl-2024", "US", 2023, 176, -0.490),
    (2021, "epri-2024", "US", 2023, 152.7, -0.412),
    (2021, "mckinsey-2023", "US", 2023, 147, -0.389),
    (2021, "iea-energy-ai-2025", "US", 2024, 183, -0.471),
    (2021, "lbnl-2026", "US", 2024, 192, -0.496),
    (2022, "lbnl-2024", "US", 2023, 176, -0.483),
    (2022, "epri-2024", "US", 2023, 152.7, -0.404),
    (2022, "mckinsey-2023", "US", 2023, 147, -0.381),
    (2022, "iea-energy-ai-2025", "US", 2024, 183, -0.452),
    (2022, "lbnl-2026", "US", 2024, 192, -0.478),
    (2022, "borderstep-2026", "US", 2025, 200, -0.449),
    # US 2025 from 2023 (LBNL and EPRI's 2023 figures, their mean, as anchor; undamped +19.9%).
    (2023, "borderstep-2026", "US", 2025, 200, +0.167),
    # Netherlands: the CBS 2017-2021 trend (23 %/yr; CBS's 2017 figure, 1.6 TWh, published
    # with its 2019 one) damped over three years; 2021 is its latest figure at every cut-off
    # (undamped +36.0%).
    (2021, "cbs-2025", "Netherlands", 2024, 5.1, +0.221),
    (2022, "cbs-2025", "Netherlands", 2024, 5.1, +0.221),
    (2023, "cbs-2025", "Netherlands", 2024, 5.1, +0.221),
    # Ireland 2025 (CSO) from 2023: the 2015-2023 metered trend damped to 2025 (undamped
    # +23.7%).
    (2023, "cso-2026", "Ireland", 2025, 7.663, +0.172),
]


@pytest.fixture(scope="module")
def any_definition():
    return bt.backtest(same_definition=False)


def test_any_definition_predictions_are_listed_with_their_measured_error(any_definition):
    oos = any_definition[~any_definition["used_as_input"]]
    assert _key(oos) == {(c, s, r, y) for c, s, r, y, _, _ in MEASURED_ANY_DEFINITION}
    assert len(MEASURED_ANY_DEFINITION) == len(oos) == 46
    assert sum(abs(e) <= bt.HIT_TOLERANCE for *_, e in MEASURED_ANY_DEFINITION) == 16
    err = oos.set_index(["cutoff_year", "study", "region", "year"])["error"]
    for c, s, r, y, _, e in MEASURED_ANY_DEFINITION:
        assert err[(c, s, r, y)] == pytest.approx(e, abs=0.005)


def test_any_definition_hits_more_figures_than_the_naive_forecast_but_misses_its_target(
    any_definition,
):
    # 16 of 46 within 15% (11 distinct figures; the naive forecast: 7), median |error| 22.1%
    # against the naive 30.6%, a ratio of 0.72, short of the 0.7 target: carried by anchors
    # of another definition (China +103% to +181% from SGERI's 200 TWh for 2020; Europe +46%
    # from Borderstep's 87 TWh; the US from LBNL 2016's 2014 figure). Undamped: 18 of 46,
    # 36.0% (ratio 1.18).
    s = bt.summary(any_definition)
    assert (s["predictions"], s["not_predictable"]) == (46, 0)
    assert (s["hits"], s["distinct_figures_hit"], s["persistence_hits"]) == (16, 11, 7)
    assert s["median_abs_error"] == pytest.approx(0.221, abs=0.005)
    assert s["persistence_median_abs_error"] == pytest.approx(0.306, abs=0.005)
    assert s["median_ratio"] == pytest.approx(0.722, abs=0.005)
    assert s["median_ratio"] > bt.MEDIAN_RATIO_TARGET


def test_anchors_are_listed_as_inputs_with_their_own_figure(table):
    anchors = table[table["used_as_input"] & (table["region"] == "World")]
    assert set(anchors["study"]) == {
        "iea-tracking-2022",
        "iea-tracking-2023",
        "iea-electricity-2024",
    }
    china = table[table["used_as_input"] & (table["region"] == "China")]
    assert set(china["study"]) == {"sgeri-2021"}  # 2020, the latest year at every cut-off
    us_2023 = table[
        table["used_as_input"] & (table["region"] == "US") & (table["cutoff_year"] == 2023)
    ]
    # one anchor per definition: LBNL's and EPRI's 2023 figures (their own), the IEA's 2022
    assert set(us_2023["study"]) == {"lbnl-2024", "epri-2024", "iea-electricity-2024"}


def test_changing_a_predicted_figure_does_not_change_its_prediction(table):
    pub = fleet.load_published().copy()
    pub.loc[pub["study"] == "iea-energy-ai-2025", "data_centre_twh"] *= 2
    moved = bt.backtest(published=pub)
    key = ["cutoff_year", "study", "region", "year"]
    a = table.set_index(key)["predicted"]
    b = moved.set_index(key)["predicted"]
    assert np.array_equal(a.to_numpy(), b.loc[a.index].to_numpy(), equal_nan=True)


def test_horizon_is_checked():
    from planner.errors import InputError

    with pytest.raises(InputError, match="horizon_years = 0"):
        bt.backtest(horizon_years=0)


def test_a_region_without_a_trend_grows_at_the_worlds_rate_of_its_anchor_years():
    # The US at the 2022 cut-off: one figure (LBNL 2016's 70 TWh for 2014), no US trend. Its
    # non-AI load grows at the World's rate known for its anchor year (Masanet et al.'s
    # 2010-2018 +0.7 %/yr), not at the World's 2018-2022 trend (+7.3 %/yr, measured between
    # Masanet et al. and the IEA, two methods). The other rule gave 15 of 32 hits with the
    # data of before and gives 24 of 39 with the figures added since (Europe 2024 +74% to +112%;
    # planner.backtest's docstring): kept out on the reason, not the count.
    all_pub = fleet.load_published()
    all_pub = all_pub[all_pub["kind"] != "projection"]
    pub = all_pub[(all_pub["year"] > 2022) | (all_pub["published_year"] <= 2023)]
    ai = fleet.ai_demand(bt._years(pub, 2022, bt.HORIZON_YEARS), last_data_year=2022)
    us = fleet.predict_total("US", [2014, 2023], last_data_year=2022, published=pub, ai=ai)
    non_ai = us.set_index("year")["non_ai_twh"]
    assert non_ai[2023] / non_ai[2014] == pytest.approx(
        fleet.trend_factor(fleet.NON_AI_GROWTH_PCT, [9])[0]
    )
    world = fleet.growth_from_data("World", 2022, pub, ai)
    assert world["growth_pct_per_year"] == pytest.approx(7.28, abs=0.05)


def test_a_figure_published_after_the_cut_off_is_not_known_at_it():
    # LBNL's December 2024 report (its 2014 and 2018 back-estimates) is not an input at the
    # 2021 cut-off: the US anchor there is LBNL 2016's 2014 figure.
    t = bt.backtest([2021])
    us = t[t["used_as_input"] & (t["region"] == "US")]
    assert set(us["study"]) == {"lbnl-2016"}
    loose = bt.backtest([2021], publication_lag_years=10)
    us = loose[loose["used_as_input"] & (loose["region"] == "US")]
    assert set(us["study"]) == {"lbnl-2024"}


@pytest.mark.parametrize("cutoff", bt.CUTOFF_YEARS)
def test_the_damped_trend_reads_nothing_published_after_the_cut_off(cutoff):
    # Every figure not known at the cut-off (a year after it, or published after the cut-off
    # + PUBLICATION_LAG_YEARS) tripled: no prediction moves. The damping is a constant fixed
    # from the literature (planner.fleet.NON_AI_DAMPING), not measured on any figure; the
    # trend it damps is measured between figures known at the cut-off.
    pub = fleet.load_published()
    unknown = (pub["year"] > cutoff) | (pub["published_year"] > cutoff + bt.PUBLICATION_LAG_YEARS)
    later = pub.copy()
    later.loc[unknown, "data_centre_twh"] *= 3
    key = ["cutoff_year", "study", "region", "year"]
    for same in (True, False):
        a = bt.backtest([cutoff], same_definition=same).set_index(key)["predicted"]
        b = bt.backtest([cutoff], published=later, same_definition=same).set_index(key)
        assert np.array_equal(a.to_numpy(), b.loc[a.index, "predicted"].to_numpy(), equal_nan=True)


def test_every_trend_is_damped_alike():
    # The Netherlands from 2021: CBS's 3.7 TWh for 2021 grown at its 2017-2021 trend, damped
    # as every other region's and country's trend: 3.7 x trend_factor(g, 3), no rule of its own.
    pub = fleet.load_published()
    known = pub[(pub["year"] > 2021) | (pub["published_year"] <= 2022)]
    g = fleet.growth_from_data("Netherlands", 2021, known, definition="metered")
    assert g["growth_pct_per_year"] == pytest.approx(23.5, abs=0.5)
    t = bt.backtest([2021], include_inputs=False).set_index(["study", "region", "year"])
    nl = t.loc[("cbs-2025", "Netherlands", 2024), "predicted"]
    assert nl == pytest.approx(3.7 * fleet.trend_factor(g["growth_pct_per_year"], [3])[0])
    undamped = bt.backtest([2021], include_inputs=False, damping=1.0)
    undamped = undamped.set_index(["study", "region", "year"])
    assert undamped.loc[("cbs-2025", "Netherlands", 2024), "predicted"] == pytest.approx(
        3.7 * (1 + g["growth_pct_per_year"] / 100) ** 3
    )


def test_damping_sensitivity_over_the_range_the_literature_allows():
    # Hyndman & Athanasopoulos bound phi to 0.8-0.98; the adopted 0.9 (the middle, fixed
    # before the backtest was run with it) against undamped and the rest of the range: hits
    # of 20 and median |error| (the naive forecast's: 17.0%), and the any-definition hits of
    # 46. The target (at least 15 hits) is met at 0.9 and below, not at 0.95-0.98.
    t = bt.damping_sensitivity()
    assert list(t["damping"]) == [1.0, 0.98, 0.95, 0.9, 0.85, 0.8]
    assert list(t["adopted"]) == [False, False, False, True, False, False]
    assert list(t["hits"]) == [14, 14, 14, 15, 16, 18]
    assert list(t["any_definition_hits"]) == [18, 18, 17, 16, 17, 20]
    assert t["median_abs_error"].to_numpy() == pytest.approx(
        [0.094, 0.094, 0.096, 0.092, 0.095, 0.083], abs=0.005
    )
    assert (t["median_ratio"] <= bt.MEDIAN_RATIO_TARGET).all()
    assert t["persistence_median_abs_error"].to_numpy() == pytest.approx(0.170, abs=0.005)


# ------------------------------------------------------------------------------------------
# The model's out-of-sample error as a band (planner.projection.error_band)
# ------------------------------------------------------------------------------------------


def test_error_quantiles_leave_the_study_out():

    every = bt.out_of_sample_errors()
    assert every["n"] == 46 and every["mean_horizon_years"] == pytest.approx(1.870, abs=0.001)
    # measured: ln(predicted / published) P10 -0.64, P90 +0.71 (China's +103% to +181%;
    # undamped -0.62 and +0.80)
    assert every["p10"] == pytest.approx(-0.644, abs=0.005)
    assert every["p90"] == pytest.approx(0.709, abs=0.005)
    without = bt.out_of_sample_errors("iea-energy-ai-2025")
    assert without["n"] == 46 - 12


def test_the_band_widens_with_the_horizon_but_never_narrows_below_the_measured():

    k = bt.horizon_scale([-2.0, 0.0, 1.75, 7.0], 1.75)
    assert k[0] == k[1] == k[2] == 1.0 and k[3] == pytest.approx(2.0)


def test_out_of_sample_band_coverage_of_the_backtest():
    # Each prediction's band from the other studies' errors: 33 of 46 published figures inside
    # (72%, for a nominal 80%); the misses are China 2024 from every cut-off (6: the IEA's 102
    # and S&P Global's 140 TWh against SGERI's 200 for 2020 as anchor), Europe 2024 from every
    # cut-off (3: Borderstep's 87 TWh for 2020 as anchor, +51% to +53%) and the US from the
    # 2021-2022 cut-offs (4: a 2014 anchor). With the data of before: 30 of 39 (Europe inside).

    c = bt.band_coverage()
    assert (int(c["inside"].sum()), len(c)) == (33, 46)
    assert (c["band_low"] < c["predicted"]).all() and (c["predicted"] < c["band_high"]).all()


def test_shown_band_is_the_envelope_of_the_sampled_band_and_the_error_band():
    from planner.projection import project
    from planner.projection.error_band import error_band

    path = "data/projections/iea-2025-base.toml"
    plain = project(path, samples=500, seed=0, error_band=False).frame
    shown = project(path, samples=500, seed=0).frame
    low, high, err = error_band(plain["total_twh"], plain["year"], "iea-energy-ai-2025")
    assert err["excluded_study"] == "iea-energy-ai-2025"
    assert np.allclose(shown["total_twh_p10"], np.fmin(plain["total_twh_p10"], low))
    assert np.allclose(shown["total_twh_p90"], np.fmax(plain["total_twh_p90"], high))
    assert np.allclose(shown["ai_twh_p90"], plain["ai_twh_p90"])  # AI-only: sampled band
    assert np.allclose(shown["total_twh_p50"], plain["total_twh_p50"])


def test_published_study_figures_inside_the_band():
    # Every published figure of the shipped study files that is not an input (25: de Vries
    # 2023, IEA Energy and AI 2025, IEA Electricity 2024, LBNL 2024): inside the sampled
    # inputs' band 5 of 25 at 2,000 samples (6 at 10,000: LBNL low 2028, 325 TWh, sits on
    # the band's edge); inside the band shown (with the model's out-of-sample error) 25.
    from planner.projection.error_band import coverage_summary, study_band_coverage

    s = study_band_coverage(samples=2000, seed=0)
    assert len(s) == 25 and set(s["label"]) == {"predicted"}
    summary = coverage_summary(s)
    assert (summary["inside_inputs_band"], summary["inside_band"]) == (5, 25)


def test_sampling_the_inputs_real_uncertainty_covers_few_out_of_sample_figures():
    # Published estimates +-17% (the IEA's own range; anchors and growth rates move with
    # them), AI load, PUE, shipments and life within the study file's ranges, the backtest
    # rerun per sample. Measured (seed 0): 10 of 46 inside P10-P90 with the 10 samples here
    # (with the data of before: 8 of 39; 7 of 32 with 100 samples, 6 with 10); the metered national
    # series (Ireland, Netherlands) have no spread at all. Parameter noise does not explain the misses: the structural error does
    # (planner.projection.error_band).
    s = bt.sampled_band(samples=10, seed=0)
    assert len(s) == 46 and int(s["inside"].sum()) == 10
    metered = s["region"].isin(["Ireland", "Netherlands"])
    assert (s.loc[metered, "p90"] - s.loc[metered, "p10"]).abs().max() < 1e-9
    assert (s["p10"] <= s["p90"]).all()
